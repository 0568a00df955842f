using System.Text.Json;
using IcosFl.Contracts;
using StackExchange.Redis;

namespace IcosFl.Controller.Workers;

/// <summary>
/// The live-worker registry in Redis, shared by every controller process and surviving restarts:
/// hash "{prefix}workers" maps a worker id to its JSON record. A heartbeat older than the stored one
/// (reordered delivery) does not roll liveness back: the compare and write are one Lua script.
/// </summary>
public sealed class RedisWorkerRegistry(IConnectionMultiplexer redis, string keyPrefix = "icosfl:") : IWorkerRegistry
{
    private const string WriteIfNewer = """
        local current = redis.call('HGET', KEYS[1], ARGV[1])
        if current then
          local seen = cjson.decode(current)['lastHeartbeatMs']
          if seen and tonumber(seen) > tonumber(ARGV[3]) then return 0 end
        end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        return 1
        """;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private RedisKey Key => keyPrefix + "workers";

    public Task RecordHeartbeatAsync(WorkerHeartbeat heartbeat, CancellationToken cancellationToken = default) =>
        WriteAsync(new WorkerInfo(heartbeat.WorkerId, heartbeat.Host, heartbeat.Timestamp, heartbeat.IntervalSeconds,
            heartbeat.DataPoints, Stopped: false));

    public async Task RecordStoppingAsync(string workerId, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        var existing = await GetAsync(workerId);
        await WriteAsync(existing is null
            ? new WorkerInfo(workerId, "", at, 0, new Dictionary<string, int>(), Stopped: true)
            : existing with { Stopped = true, LastHeartbeat = at > existing.LastHeartbeat ? at : existing.LastHeartbeat });
    }

    public async Task<IReadOnlyList<WorkerInfo>> ListAsync(CancellationToken cancellationToken = default)
    {
        var entries = await redis.GetDatabase().HashGetAllAsync(Key);
        return entries.Select(e => Read(e.Value!)).OrderBy(w => w.WorkerId, StringComparer.Ordinal).ToList();
    }

    private async Task<WorkerInfo?> GetAsync(string workerId)
    {
        var value = await redis.GetDatabase().HashGetAsync(Key, workerId);
        return value.IsNull ? null : Read(value!);
    }

    private Task WriteAsync(WorkerInfo info)
    {
        var record = new StoredWorker(info.WorkerId, info.Host, info.LastHeartbeat.ToUnixTimeMilliseconds(), info.IntervalSeconds,
            info.DataPoints, info.Stopped);
        return redis.GetDatabase().ScriptEvaluateAsync(WriteIfNewer, [Key],
            [info.WorkerId, JsonSerializer.Serialize(record, Json), record.LastHeartbeatMs]);
    }

    private static WorkerInfo Read(string json)
    {
        var s = JsonSerializer.Deserialize<StoredWorker>(json, Json)!;
        return new WorkerInfo(s.WorkerId, s.Host, DateTimeOffset.FromUnixTimeMilliseconds(s.LastHeartbeatMs), s.IntervalSeconds,
            s.DataPoints, s.Stopped);
    }

    private sealed record StoredWorker(
        string WorkerId, string Host, long LastHeartbeatMs, double IntervalSeconds, IReadOnlyDictionary<string, int> DataPoints, bool Stopped);
}
