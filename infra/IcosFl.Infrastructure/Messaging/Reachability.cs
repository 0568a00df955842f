using System.Net.Sockets;
using StackExchange.Redis;

namespace IcosFl.Infrastructure.Messaging;

/// <summary>Checks, before a process starts work, that the broker and Redis answer, with an error naming the address.</summary>
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

    /// <summary>Connects to Redis, or throws <see cref="UnreachableException"/> naming the address.</summary>
    public static async Task<IConnectionMultiplexer> ConnectRedisAsync(ConnectionSettings settings, TimeSpan timeout)
    {
        ConfigurationOptions options;
        try
        {
            options = ConfigurationOptions.Parse(settings.Redis);
        }
        catch (ArgumentException e)
        {
            throw new UnreachableException($"ICOSFL_REDIS / --redis is not a Redis configuration string: '{settings.Redis}': {e.Message}");
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
            throw new UnreachableException($"cannot reach Redis at {string.Join(", ", options.EndPoints)}: {e.Message.Split('\n')[0]}");
        }
    }
}

/// <summary>A server the process needs does not answer (CLI exit code 3).</summary>
public sealed class UnreachableException(string message) : Exception(message);
