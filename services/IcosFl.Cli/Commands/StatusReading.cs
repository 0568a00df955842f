using IcosFl.Controller;
using IcosFl.Controller.Rounds;
using IcosFl.Controller.Status;
using IcosFl.Controller.Workers;
using IcosFl.Infrastructure.Messaging;
using StackExchange.Redis;

namespace IcosFl.Cli.Commands;

/// <summary>What status and ls share: read the controller's state straight from Redis.</summary>
public sealed class StatusReading(IConnectionMultiplexer redis, FederationStatusReader reader) : IDisposable
{
    public FederationStatusReader Reader { get; } = reader;

    /// <summary>Connects to Redis, or prints why not (naming the address) and returns null.</summary>
    public static async Task<StatusReading?> OpenAsync(ConnectionSettings settings, string who, int heartbeatPatience = 2)
    {
        try
        {
            var redis = await Reachability.ConnectRedisAsync(settings, NodeStartup.ConnectTimeout);
            return new StatusReading(redis, new FederationStatusReader(new RedisSagaReader(redis), new RedisWorkerRegistry(redis),
                new ControllerOptions { HeartbeatPatience = heartbeatPatience }, TimeProvider.System, new RedisRoundLedger(redis)));
        }
        catch (UnreachableException e)
        {
            Console.Error.WriteLine($"icosfl {who}: {e.Message}");
            return null;
        }
    }

    public void Dispose() => redis.Dispose();
}
