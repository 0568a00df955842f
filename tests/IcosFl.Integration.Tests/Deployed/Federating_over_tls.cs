using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Integration.Tests.Servers;
using Xunit.Abstractions;

namespace IcosFl.Integration.Tests.Deployed;

/// <summary>
/// Issue 16 part 4 on the real broker's TLS listener (tests/run.sh gives it a certificate from a CA it makes with openssl,
/// ICOSFL_TEST_TLS_CA): a deployed federation whose controller logs in by password and whose enrolled workers log in by
/// client certificate (EXTERNAL), every connection over TLS; a worker that does not trust the broker's certificate, or
/// whose own certificate has expired, exits 3 naming the host and the reason.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class Federating_over_tls(TestServers servers, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _certificates = Directory.CreateTempSubdirectory("icosfl-tls-").FullName;
    private readonly List<string> _users = [];
    private DeployedFleet _fleet = null!;

    private static string Required(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{variable} is not set: run the tests with tests/run.sh, which starts RabbitMQ with a TLS listener");

    private static string Ca => Required("ICOSFL_TEST_TLS_CA");
    private static int TlsPort => int.Parse(Required("ICOSFL_TEST_BROKER_TLS_PORT"), System.Globalization.CultureInfo.InvariantCulture);

    public async Task InitializeAsync() => _fleet = await DeployedFleet.CreateAsync(servers, output);

    public async Task DisposeAsync()
    {
        using var http = DeployedFleet.ManagementClient(servers);
        foreach (var user in _users)
            await http.DeleteAsync($"api/users/{Uri.EscapeDataString(user)}");
        await _fleet.DisposeAsync();
        Directory.Delete(_certificates, recursive: true);
    }

    /// <summary>The TLS listener, this fleet's vhost, with the test servers' user or none (certificate login).</summary>
    private string TlsBroker(bool withPassword)
    {
        var uri = new UriBuilder(_fleet.BrokerUri) { Scheme = "amqps", Host = "localhost", Port = TlsPort };
        if (!withPassword)
            (uri.UserName, uri.Password) = ("", "");
        return uri.Uri.ToString();
    }

    [Fact]
    public async Task Should_run_a_federation_over_tls_with_workers_logging_in_by_certificate()
    {
        var controllerEnv = new Dictionary<string, string> { [BrokerTls.CaVariable] = Ca };
        _fleet.StartOver("controller", TlsBroker(withPassword: true), controllerEnv, "controller", "--data", "synthetic", "--http", "off");
        foreach (var id in new[] { "w1", "w2" })
        {
            await EnrolAsync(id);
            var (cert, key) = Issue(BrokerIdentity.NodeUser(id), DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1));
            _fleet.StartOver(id, TlsBroker(withPassword: false),
                new Dictionary<string, string> { [BrokerTls.CaVariable] = Ca, [BrokerTls.CertVariable] = cert, [BrokerTls.KeyVariable] = key },
                "worker", "--id", id, "--heartbeat-interval", "1", "--data", "synthetic");
        }
        await _fleet.ReadyAsync("w1", "w2");

        var (exit, stdout, stderr) = await _fleet.RunCliOverAsync(TlsBroker(withPassword: true), controllerEnv, "start", "--run-config",
            "num-server-rounds=2 min-fit-clients=2 min-available-clients=2 local-epochs=1");
        Assert.True(exit == 0, $"icosfl start over TLS: exit {exit}: {stderr}");
        var done = await _fleet.WaitForAsync(Guid.Parse(stdout), s => s.State == "Completed", TimeSpan.FromMinutes(3), "completion over TLS");
        Assert.Equal([1, 2], done.Rounds.Where(r => r.State == "Completed").Select(r => r.Round).Order());
        Assert.All(done.Rounds.Where(r => r.State == "Completed"), r => Assert.Equal(["w1", "w2"], r.Participants.Order()));

        // What the broker saw: every connection of this vhost over TLS; the workers' by certificate, as their node users.
        using var http = DeployedFleet.ManagementClient(servers);
        var connections = (await http.GetFromJsonAsync<JsonElement[]>(
            $"api/vhosts/{Uri.EscapeDataString(_fleet.VirtualHost)}/connections?columns=user,ssl,auth_mechanism"))!;
        output.WriteLine(string.Join("\n", connections.Select(c => c.ToString())));
        Assert.NotEmpty(connections);
        Assert.All(connections, c => Assert.True(c.GetProperty("ssl").GetBoolean(), $"a connection not over TLS: {c}"));
        foreach (var id in new[] { "w1", "w2" })
            Assert.Contains(connections, c => c.GetProperty("user").GetString() == BrokerIdentity.NodeUser(id)
                                              && c.GetProperty("auth_mechanism").GetString() == "EXTERNAL");
    }

    [Fact]
    public async Task Should_refuse_a_broker_whose_certificate_the_given_ca_did_not_sign()
    {
        var (otherCa, _) = MakeCa("not the broker's CA");
        var stderr = await RefusedWorkerAsync(withPassword: true, new() { [BrokerTls.CaVariable] = otherCa });
        Assert.Contains($"fails against {BrokerTls.CaVariable}={otherCa}", stderr);
        Assert.Contains("UntrustedRoot", stderr);
    }

    [Fact]
    public async Task Should_refuse_an_expired_client_certificate_naming_the_host_and_the_reason()
    {
        await EnrolAsync("w1");
        var (cert, key) = Issue(BrokerIdentity.NodeUser("w1"), DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddDays(-1));
        var stderr = await RefusedWorkerAsync(withPassword: false,
            new() { [BrokerTls.CaVariable] = Ca, [BrokerTls.CertVariable] = cert, [BrokerTls.KeyVariable] = key });
        Assert.Contains($"the client certificate {BrokerTls.CertVariable}={cert} (CN={BrokerIdentity.NodeUser("w1")}) expired at", stderr);
    }

    [Fact]
    public async Task Should_be_refused_by_the_broker_with_a_client_certificate_from_another_ca()
    {
        await EnrolAsync("w1");
        var (otherCa, otherKey) = MakeCa("an unknown CA");
        var (cert, key) = Issue(BrokerIdentity.NodeUser("w1"), DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1), otherCa, otherKey);
        var stderr = await RefusedWorkerAsync(withPassword: false,
            new() { [BrokerTls.CaVariable] = Ca, [BrokerTls.CertVariable] = cert, [BrokerTls.KeyVariable] = key });
        Assert.Contains("did not accept the client certificate", stderr);
    }

    /// <summary>
    /// Starts worker w1 over the TLS listener with <paramref name="environment"/>, asserts that it exits 3 with the start
    /// error naming the broker's host and port, and returns its stderr for the reason.
    /// </summary>
    private async Task<string> RefusedWorkerAsync(bool withPassword, Dictionary<string, string> environment)
    {
        environment["ICOSFL_CONNECT_TIMEOUT"] = "10";
        var (exit, _, stderr) = await _fleet.RunCliOverAsync(TlsBroker(withPassword), environment, "worker", "--id", "w1", "--data", "synthetic");
        output.WriteLine(stderr);
        Assert.Equal(3, exit);
        Assert.Contains($"TLS with the RabbitMQ broker at localhost:{TlsPort} failed", stderr);
        return stderr;
    }

    /// <summary>The node's broker user, as <c>icosfl node add</c> makes it (the password is never used: it logs in by certificate).</summary>
    private async Task EnrolAsync(string id)
    {
        using var http = DeployedFleet.ManagementClient(servers);
        var user = BrokerIdentity.NodeUser(id);
        (await http.PutAsJsonAsync($"api/users/{Uri.EscapeDataString(user)}", new { password = Guid.NewGuid().ToString("N"), tags = "" })).EnsureSuccessStatusCode();
        _users.Add(user);
        var (configure, write, read) = BrokerIdentity.NodePermissions(id);
        (await http.PutAsJsonAsync($"api/permissions/{Uri.EscapeDataString(_fleet.VirtualHost)}/{Uri.EscapeDataString(user)}",
            new { configure, write, read })).EnsureSuccessStatusCode();
        foreach (var (exchange, topicWrite, topicRead) in BrokerIdentity.NodeTopicPermissions(id))
            (await http.PutAsJsonAsync($"api/topic-permissions/{Uri.EscapeDataString(_fleet.VirtualHost)}/{Uri.EscapeDataString(user)}",
                new { exchange, write = topicWrite, read = topicRead })).EnsureSuccessStatusCode();
    }

    /// <summary>A client certificate for <paramref name="commonName"/> from the run's CA (tests/run.sh), valid from..to; PEM files.</summary>
    private (string Cert, string Key) Issue(string commonName, DateTimeOffset from, DateTimeOffset to, string? caCert = null, string? caKeyFile = null)
    {
        using var ca = X509Certificate2.CreateFromPemFile(caCert ?? Ca, caKeyFile ?? Required("ICOSFL_TEST_TLS_CA_KEY"));
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        // Signed with the CA's key directly: CertificateRequest.Create(issuer, ...) refuses validity outside the issuer's,
        // and the run's CA is younger than the expired certificate must be.
        using var caKey = ca.GetRSAPrivateKey()!;
        using var cert = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForRSA(caKey, RSASignaturePadding.Pkcs1), from, to,
            RandomNumberGenerator.GetBytes(16));
        var name = commonName + (to < DateTimeOffset.UtcNow ? "-expired" : "") + (caCert is null ? "" : "-other-ca");
        var (certFile, keyFile) = (Path.Combine(_certificates, name + ".pem"), Path.Combine(_certificates, name + ".key"));
        File.WriteAllText(certFile, cert.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (certFile, keyFile);
    }

    /// <summary>A CA of the test's own, that signed nothing the broker holds.</summary>
    private (string Cert, string Key) MakeCa(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        var (certFile, keyFile) = (Path.Combine(_certificates, "other-ca.pem"), Path.Combine(_certificates, "other-ca.key"));
        File.WriteAllText(certFile, cert.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (certFile, keyFile);
    }
}
