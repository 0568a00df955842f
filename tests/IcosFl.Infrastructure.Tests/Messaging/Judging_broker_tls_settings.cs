using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using IcosFl.Infrastructure.Messaging;

namespace IcosFl.Infrastructure.Tests.Messaging;

/// <summary>What BrokerTls says of its settings and of a broker's certificate, before any connection.</summary>
public sealed class Judging_broker_tls_settings : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("icosfl-tls-unit-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Should_want_the_certificate_and_its_key_together_and_existing_files()
    {
        Assert.Null(new BrokerTls(null, null, null).Problem());
        Assert.Contains("go together", new BrokerTls(null, "c.pem", null).Problem());
        Assert.Equal($"{BrokerTls.CaVariable} names '/nowhere/ca.pem', which does not exist", new BrokerTls("/nowhere/ca.pem", null, null).Problem());
    }

    [Fact]
    public void Should_name_an_expired_or_not_yet_valid_client_certificate_with_its_dates()
    {
        var (cert, key) = SelfSigned("CN=icosfl-node-edge-1", DateTimeOffset.UtcNow.AddDays(-3), DateTimeOffset.UtcNow.AddDays(-1));
        Assert.StartsWith($"the client certificate {BrokerTls.CertVariable}={cert} (CN=icosfl-node-edge-1) expired at ", new BrokerTls(null, cert, key).Problem());
        var (later, laterKey) = SelfSigned("CN=icosfl-node-edge-2", DateTimeOffset.UtcNow.AddDays(1), DateTimeOffset.UtcNow.AddDays(2));
        Assert.Contains("is not valid before", new BrokerTls(null, later, laterKey).Problem());
        var (good, goodKey) = SelfSigned("CN=icosfl-node-edge-3", DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var tls = new BrokerTls(null, good, goodKey);
        Assert.Null(tls.Problem());
        Assert.Equal("icosfl-node-edge-3", tls.CertificateUser());
        using var loaded = tls.LoadClientCertificate();
        Assert.True(loaded!.HasPrivateKey);
    }

    [Fact]
    public void Should_accept_a_broker_certificate_only_from_the_configured_ca_and_for_the_host()
    {
        var (ca, caKey) = SelfSigned("CN=Test CA", DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), isCa: true);
        var (other, _) = SelfSigned("CN=Other CA", DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), isCa: true);
        using var server = Issue("CN=localhost", ca, caKey);

        Assert.Null(new BrokerTls(ca, null, null).Judge(server, null, SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.Contains($"fails against {BrokerTls.CaVariable}={other}", new BrokerTls(other, null, null).Judge(server, null, SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.Contains("is not for this host name", new BrokerTls(ca, null, null).Judge(server, null, SslPolicyErrors.RemoteCertificateNameMismatch));
        Assert.Equal("the broker sent no certificate", new BrokerTls(ca, null, null).Judge(null, null, SslPolicyErrors.RemoteCertificateNotAvailable));
    }

    private (string Cert, string Key) SelfSigned(string subject, DateTimeOffset from, DateTimeOffset to, bool isCa = false)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        if (isCa)
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var cert = request.CreateSelfSigned(from, to);
        var name = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
        File.WriteAllText(name + ".pem", cert.ExportCertificatePem());
        File.WriteAllText(name + ".key", key.ExportPkcs8PrivateKeyPem());
        return (name + ".pem", name + ".key");
    }

    private static X509Certificate2 Issue(string subject, string caCert, string caKey)
    {
        using var ca = X509Certificate2.CreateFromPemFile(caCert, caKey);
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return request.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), RandomNumberGenerator.GetBytes(16));
    }
}
