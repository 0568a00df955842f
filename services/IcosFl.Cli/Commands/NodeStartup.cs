using IcosFl.Infrastructure.Messaging;
using StackExchange.Redis;

namespace IcosFl.Cli.Commands;

/// <summary>What every node does first: make sure the broker and the Redis it needs answer, or say which does not.</summary>
public static class NodeStartup
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(
        double.TryParse(Environment.GetEnvironmentVariable("ICOSFL_CONNECT_TIMEOUT"), System.Globalization.CultureInfo.InvariantCulture, out var s) ? s : 10);

    /// <summary>
    /// A controller's start: checks the broker and connects to the saga Redis and the payload Redis (one
    /// connection when they are the same); prints why not and returns null when any fails.
    /// </summary>
    public static Task<RedisConnections?> ConnectAsync(ConnectionSettings settings, string who, CancellationToken ct) =>
        CheckedAsync(settings, who, () => Reachability.ConnectRedisConnectionsAsync(settings, ConnectTimeout), ct);

    /// <summary>A worker's start: checks the broker, the only server a worker uses; prints why not and returns false when it fails.</summary>
    public static async Task<bool> CheckBrokerAsync(ConnectionSettings settings, string who, CancellationToken ct)
    {
        if (await Reachability.CheckBrokerAsync(settings, ConnectTimeout, ct) is not { } brokerProblem)
            return true;
        Console.Error.WriteLine($"icosfl {who}: {brokerProblem}");
        return false;
    }

    private static async Task<T?> CheckedAsync<T>(ConnectionSettings settings, string who, Func<Task<T>> connectRedis, CancellationToken ct)
        where T : class
    {
        if (await Reachability.CheckBrokerAsync(settings, ConnectTimeout, ct) is { } brokerProblem)
        {
            Console.Error.WriteLine($"icosfl {who}: {brokerProblem}");
            return null;
        }
        try
        {
            return await connectRedis();
        }
        catch (UnreachableException e)
        {
            Console.Error.WriteLine($"icosfl {who}: {e.Message}");
            return null;
        }
    }
}
