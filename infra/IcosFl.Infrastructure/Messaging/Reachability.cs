using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using StackExchange.Redis;

namespace IcosFl.Infrastructure.Messaging;

/// <summary>Checks, before a process starts work, that the broker and the Redis it needs answer, with an error naming the address and the setting.</summary>
public static class Reachability
{
    /// <summary>Null when the broker's TCP port accepts a connection within the timeout, else why not.</summary>
    public static async Task<string?> CheckBrokerAsync(ConnectionSettings settings, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (settings.BrokerProblem() is { } problem)
            return problem;
        var uri = new Uri(settings.Broker);
        var port = uri.Port > 0 ? uri.Port : uri.Scheme == "amqps" ? 5671 : 5672;
        using var client = new TcpClient();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await client.ConnectAsync(uri.Host, port, cts.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return $"cannot reach the RabbitMQ broker at {uri.Host}:{port} ({settings.BrokerForDisplay}): " +
                   (e is OperationCanceledException ? $"no answer within {timeout.TotalSeconds:0} s" : e.Message);
        }
        return uri.Scheme == "amqps" ? await CheckTlsAsync(client, uri.Host, port, BrokerTls.FromEnvironment(), cts.Token) : null;
    }

    /// <summary>
    /// The TLS handshake the bus will make, made once before it: a broker certificate the CA does not vouch for, or a
    /// client certificate the broker refuses (expired, unknown issuer), is then reported naming the host and the reason
    /// instead of surfacing as the bus's endless reconnects.
    /// </summary>
    private static async Task<string?> CheckTlsAsync(TcpClient client, string host, int port, BrokerTls tls, CancellationToken cancellationToken)
    {
        var failed = $"TLS with the RabbitMQ broker at {host}:{port} failed";
        if (tls.Problem() is { } problem)
            return $"{failed}: {problem}";
        string? rejected = null;
        using var clientCertificate = tls.LoadClientCertificate();
        await using var stream = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
        try
        {
            await stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = host,
                EnabledSslProtocols = BrokerTls.Protocols,
                ClientCertificates = clientCertificate is null ? null : [clientCertificate],
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) => (rejected = tls.Judge(certificate, chain, errors)) is null,
            }, cancellationToken);
            // TLS 1.3 sends the server's verdict on the client certificate after the handshake: read once to hear it.
            if (clientCertificate is not null)
                await ReadVerdictAsync(stream, cancellationToken);
            return null;
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
        {
            return $"{failed}: {rejected ?? (e.Message.StartsWith(Refused, StringComparison.Ordinal) ? e.Message : Innermost(e))}";
        }
    }

    private const string Refused = "the broker closed the connection right after the TLS handshake: it did not accept the client certificate";

    /// <summary>Starts AMQP and waits for the broker's first bytes: its answer, or the alert or reset that refuses the client certificate.</summary>
    private static async Task ReadVerdictAsync(SslStream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[1];
        try
        {
            // AMQP 0-9-1's protocol header; the broker answers it with connection.start.
            await stream.WriteAsync("AMQP\0\0\x09\x01"u8.ToArray(), cancellationToken);
            if (await stream.ReadAsync(buffer, cancellationToken) == 0)
                throw new IOException(Refused);
        }
        catch (IOException e) when (e.Message != Refused)
        {
            throw new IOException($"{Refused} ({e.InnerException?.Message ?? e.Message})", e);
        }
    }

    private static string Innermost(Exception e)
    {
        var messages = new List<string>();
        for (var x = e; x is not null; x = x.InnerException)
            messages.Add(x.Message);
        return string.Join(": ", messages.Distinct());
    }

    /// <summary>Connects to the saga Redis (ICOSFL_REDIS), or throws <see cref="UnreachableException"/> naming the address.</summary>
    public static Task<IConnectionMultiplexer> ConnectRedisAsync(ConnectionSettings settings, TimeSpan timeout) =>
        ConnectAsync(settings.Redis, "Redis", "ICOSFL_REDIS / --redis", timeout);

    /// <summary>
    /// Connects to the Redis of claim-check payloads (ICOSFL_PAYLOAD_REDIS, the saga Redis when unset), or
    /// throws <see cref="UnreachableException"/> naming the address and the setting.
    /// </summary>
    public static Task<IConnectionMultiplexer> ConnectPayloadRedisAsync(ConnectionSettings settings, TimeSpan timeout) =>
        settings.PayloadRedisIsSeparate
            ? ConnectAsync(settings.PayloadRedis, "the payload Redis", "ICOSFL_PAYLOAD_REDIS / --payload-redis", timeout)
            : ConnectRedisAsync(settings, timeout);

    /// <summary>
    /// Both Redis a controller needs: the saga Redis, and the payload Redis on a connection of its own only
    /// when its configuration string differs. Throws <see cref="UnreachableException"/> for the first that
    /// does not answer, having closed what it opened.
    /// </summary>
    public static async Task<RedisConnections> ConnectRedisConnectionsAsync(ConnectionSettings settings, TimeSpan timeout)
    {
        var state = await ConnectRedisAsync(settings, timeout);
        if (!settings.PayloadRedisIsSeparate)
            return new RedisConnections(state, state);
        try
        {
            return new RedisConnections(state, await ConnectPayloadRedisAsync(settings, timeout));
        }
        catch
        {
            state.Dispose();
            throw;
        }
    }

    private static async Task<IConnectionMultiplexer> ConnectAsync(string configuration, string what, string setting, TimeSpan timeout)
    {
        ConfigurationOptions options;
        try
        {
            options = ConfigurationOptions.Parse(configuration);
        }
        catch (ArgumentException e)
        {
            throw new UnreachableException($"{setting} is not a Redis configuration string: '{configuration}': {e.Message}");
        }
        options.AbortOnConnectFail = true;
        options.ConnectTimeout = (int)timeout.TotalMilliseconds;
        try
        {
            var multiplexer = await ConnectionMultiplexer.ConnectAsync(options);
            // From here on, ride out Redis restarts: reconnect in the background.
            return multiplexer;
        }
        catch (RedisConnectionException e)
        {
            throw new UnreachableException($"cannot reach {what} at {string.Join(", ", options.EndPoints)} ({setting}): {e.Message.Split('\n')[0]}");
        }
    }
}

/// <summary>A server the process needs does not answer (CLI exit code 3).</summary>
public sealed class UnreachableException(string message) : Exception(message);
