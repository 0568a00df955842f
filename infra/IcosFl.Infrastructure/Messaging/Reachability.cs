using System.Net.Sockets;
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
            return null;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return $"cannot reach the RabbitMQ broker at {uri.Host}:{port} ({settings.BrokerForDisplay}): " +
                   (e is OperationCanceledException ? $"no answer within {timeout.TotalSeconds:0} s" : e.Message);
        }
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
