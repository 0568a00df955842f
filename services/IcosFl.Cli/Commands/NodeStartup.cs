using IcosFl.Infrastructure.Messaging;
using StackExchange.Redis;

namespace IcosFl.Cli.Commands;

/// <summary>What every command does first: make sure the broker and Redis answer, or say which does not.</summary>
public static class NodeStartup
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(
        double.TryParse(Environment.GetEnvironmentVariable("ICOSFL_CONNECT_TIMEOUT"), System.Globalization.CultureInfo.InvariantCulture, out var s) ? s : 10);

    /// <summary>Checks the broker and connects to Redis; prints why not and returns null when either fails.</summary>
    public static async Task<IConnectionMultiplexer?> ConnectAsync(ConnectionSettings settings, string who, CancellationToken ct)
    {
        if (await Reachability.CheckBrokerAsync(settings, ConnectTimeout, ct) is { } brokerProblem)
        {
            Console.Error.WriteLine($"icosfl {who}: {brokerProblem}");
            return null;
        }
        try
        {
            return await Reachability.ConnectRedisAsync(settings, ConnectTimeout);
        }
        catch (UnreachableException e)
        {
            Console.Error.WriteLine($"icosfl {who}: {e.Message}");
            return null;
        }
    }
}
