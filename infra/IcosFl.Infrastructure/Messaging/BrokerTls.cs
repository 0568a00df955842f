using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace IcosFl.Infrastructure.Messaging;

/// <summary>
/// TLS to the broker, for <c>amqps://</c> URIs, from the environment: the CA that signed the broker's certificate
/// (ICOSFL_BROKER_CA, a PEM file; the system's trust store when unset) and optionally this node's client certificate
/// and key (ICOSFL_BROKER_CERT, ICOSFL_BROKER_KEY, PEM). With a client certificate and no user in the URI the node logs
/// in with RabbitMQ's EXTERNAL mechanism: the broker takes the user from the certificate's common name.
/// </summary>
public sealed record BrokerTls(string? CaFile, string? CertFile, string? KeyFile)
{
    public const string CaVariable = "ICOSFL_BROKER_CA";
    public const string CertVariable = "ICOSFL_BROKER_CERT";
    public const string KeyVariable = "ICOSFL_BROKER_KEY";

    public static BrokerTls FromEnvironment() => new(Env(CaVariable), Env(CertVariable), Env(KeyVariable));

    /// <summary>Whether a client certificate is configured.</summary>
    public bool HasClientCertificate => CertFile is not null;

    /// <summary>What is wrong with the settings themselves (a file missing, a key without a certificate), or null.</summary>
    public string? Problem()
    {
        if ((CertFile is null) != (KeyFile is null))
            return $"{CertVariable} and {KeyVariable} go together: set both (the client certificate and its key) or neither";
        foreach (var (variable, file) in new[] { (CaVariable, CaFile), (CertVariable, CertFile), (KeyVariable, KeyFile) })
            if (file is not null && !File.Exists(file))
                return $"{variable} names '{file}', which does not exist";
        return CertFile is null ? null : ValidityProblem(CertFile, DateTime.UtcNow);
    }

    /// <summary>The broker refuses a client certificate outside its validity: said here, before the handshake, with the dates.</summary>
    private static string? ValidityProblem(string file, DateTime now)
    {
        using var cert = X509CertificateLoader.LoadCertificateFromFile(file);
        if (now > cert.NotAfter.ToUniversalTime())
            return $"the client certificate {CertVariable}={file} ({cert.Subject}) expired at {cert.NotAfter.ToUniversalTime():u}";
        if (now < cert.NotBefore.ToUniversalTime())
            return $"the client certificate {CertVariable}={file} ({cert.Subject}) is not valid before {cert.NotBefore.ToUniversalTime():u}";
        return null;
    }

    /// <summary>The client certificate with its private key, or null when none is configured.</summary>
    public X509Certificate2? LoadClientCertificate()
    {
        if (CertFile is null || KeyFile is null)
            return null;
        using var pem = X509Certificate2.CreateFromPemFile(CertFile, KeyFile);
        // SslStream needs the key in a form the platform's TLS can use: a PKCS#12 round trip gives it that.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>The user the broker will see for a client certificate (its common name), or null.</summary>
    public string? CertificateUser()
    {
        if (CertFile is null)
            return null;
        using var cert = X509CertificateLoader.LoadCertificateFromFile(CertFile);
        return cert.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
    }

    /// <summary>
    /// Checks the broker's certificate: its name must match the host, and its chain must end in the configured CA (or
    /// the system's roots when none is). Returns null when it is good, else the reason, naming what failed.
    /// </summary>
    public string? Judge(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
            return "the broker sent no certificate";
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
            return $"the broker's certificate ({certificate.Subject}) is not for this host name";
        using var cert = new X509Certificate2(certificate);
        if (CaFile is null)
            return errors == SslPolicyErrors.None ? null : $"the broker's certificate ({cert.Subject}) is not trusted by the system: {Describe(chain)}";
        using var ours = new X509Chain();
        ours.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        ours.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(CaFile);
        ours.ChainPolicy.CustomTrustStore.AddRange(roots);
        if (chain is not null)
            foreach (var element in chain.ChainElements)
                ours.ChainPolicy.ExtraStore.Add(element.Certificate);
        return ours.Build(cert) ? null : $"the broker's certificate ({cert.Subject}, issued by {cert.Issuer}) fails against {CaVariable}={CaFile}: {Describe(ours)}";
    }

    private static string Describe(X509Chain? chain) =>
        chain is null || chain.ChainStatus.Length == 0
            ? "no chain"
            : string.Join("; ", chain.ChainStatus.Select(s => $"{s.Status} ({s.StatusInformation.Trim()})"));

    /// <summary>The TLS versions offered: 1.2 and 1.3.</summary>
    public static SslProtocols Protocols => SslProtocols.Tls12 | SslProtocols.Tls13;

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
