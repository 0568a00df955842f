using System.Globalization;
using IcosFl.Learning.NodeData;
using StackExchange.Redis;

namespace IcosFl.Worker.Metrics;

/// <summary>
/// A node store in the node's own Redis (deployed mode), with the semantics of <see cref="InMemoryNodeStore"/>:
/// one sorted set per metric, <c>icosfl:node:{NODE}:METRIC</c>, score = Unix milliseconds, member
/// "unix_ms:value" (so one timestamp is held once); the unavailable marks in the hash
/// <c>icosfl:node:{NODE}:unavailable</c> (field = metric, value = reason). The braces make every key of a node
/// one Redis Cluster hash slot, so the append script may touch them all.
/// An append is one Lua script per batch: each point is added unless its timestamp is held (ZCOUNT, O(log n)),
/// then the series is trimmed to the retention back from its newest point and to the capacity, atomically, so a
/// collector and an import writing at once never see half a trim.
/// </summary>
public sealed class RedisNodeStore : INodeStore
{
    public const string KeyPrefix = "icosfl:node:";

    /// <summary>Points per script call: a 24 h import is split so Redis never blocks for long on one call.</summary>
    private const int BatchSize = 5000;

    // KEYS: the series of this batch. ARGV: retention ms, capacity, then (key index, unix ms, member) per point.
    // Returns {added, already held, dropped}. Scores are formatted with %.0f: Lua's tostring would round 13-digit milliseconds.
    private const string AppendScript =
        """
        local retention = tonumber(ARGV[1])
        local capacity = tonumber(ARGV[2])
        local added, held, dropped = 0, 0, 0
        for i = 3, #ARGV, 3 do
          local key = KEYS[tonumber(ARGV[i])]
          local t = ARGV[i + 1]
          if redis.call('ZCOUNT', key, t, t) > 0 then
            held = held + 1
          else
            redis.call('ZADD', key, t, ARGV[i + 2])
            added = added + 1
          end
        end
        for _, key in ipairs(KEYS) do
          local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
          if #newest > 0 then
            local oldestKept = tonumber(newest[2]) - retention
            dropped = dropped + redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. string.format('%.0f', oldestKept))
            local excess = redis.call('ZCARD', key) - capacity
            if excess > 0 then
              dropped = dropped + redis.call('ZREMRANGEBYRANK', key, 0, excess - 1)
            end
          end
        end
        return {added, held, dropped}
        """;

    private readonly IDatabase _db;
    private readonly StoreLimits _limits;
    private readonly string _endpoint;

    /// <summary>Opens the node's store and trims what it holds to <paramref name="limits"/> (as the file store does on load).</summary>
    public RedisNodeStore(IConnectionMultiplexer redis, string node, StoreLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(redis);
        Node = NodeName.Require(node);
        _limits = limits ?? StoreLimits.Default;
        _limits.Validate();
        _db = redis.GetDatabase();
        _endpoint = string.Join(",", redis.GetEndPoints().Select(e => e.ToString()));
        Run(NodeMetrics.All.Select(SeriesKey).ToArray(), []);
    }

    public string Node { get; }

    /// <summary>The sorted set holding <paramref name="metric"/> of <paramref name="node"/>.</summary>
    public static RedisKey SeriesKey(string node, string metric) => $"{KeyPrefix}{{{node}}}:{metric}";

    /// <summary>The hash of <paramref name="node"/>'s unavailable marks.</summary>
    public static RedisKey UnavailableKey(string node) => $"{KeyPrefix}{{{node}}}:unavailable";

    public AppendResult Append(IReadOnlyList<MetricSample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        foreach (var sample in samples)
            NodeStoreSamples.Check(sample);

        int added = 0, held = 0, dropped = 0;
        foreach (var chunk in samples.Chunk(BatchSize))
        {
            var metrics = chunk.Select(s => s.Metric).Distinct().ToList();
            var args = new List<RedisValue>(chunk.Length * 3);
            foreach (var sample in chunk)
            {
                long unixMs = sample.Timestamp.ToUnixTimeMilliseconds();
                args.Add(metrics.IndexOf(sample.Metric) + 1);
                args.Add(unixMs);
                args.Add(Member(unixMs, (float)sample.Value));
            }

            var (a, h, d) = Run(metrics.Select(SeriesKey).ToArray(), args);
            (added, held, dropped) = (added + a, held + h, dropped + d);
        }

        return new AppendResult(added, held, dropped);
    }

    public void MarkUnavailable(string metric, string? reason)
    {
        NodeMetrics.Require(metric);
        if (reason is null)
            _db.HashDelete(UnavailableKey(Node), metric);
        else
            _db.HashSet(UnavailableKey(Node), metric, reason);
    }

    public IReadOnlyList<float>? GetSeries(string metric)
    {
        var (_, values) = Points(metric);
        return values.Length > 0 ? values : null;
    }

    public string? UnavailableReason(string metric)
    {
        if (!NodeMetrics.All.Contains(metric) || _db.SortedSetLength(SeriesKey(metric)) > 0)
            return null;
        var reason = _db.HashGet(UnavailableKey(Node), metric);
        return reason.IsNull ? null : (string?)reason;
    }

    public IReadOnlyDictionary<string, int> DataPoints()
    {
        var batch = _db.CreateBatch();
        var counts = NodeMetrics.All.Select(m => (Metric: m, Count: batch.SortedSetLengthAsync(SeriesKey(m)))).ToList();
        batch.Execute();
        return counts.Where(c => c.Count.Result > 0).ToDictionary(c => c.Metric, c => (int)c.Count.Result);
    }

    public (long[] TimesUnixMs, float[] Values) Points(string metric)
    {
        if (!NodeMetrics.All.Contains(metric))
            return ([], []);
        var members = _db.SortedSetRangeByRank(SeriesKey(metric));
        var times = new long[members.Length];
        var values = new float[members.Length];
        for (int i = 0; i < members.Length; i++)
            (times[i], values[i]) = Parse(SeriesKey(metric), members[i]);
        return (times, values);
    }

    public NodeDataSummary Summarise()
    {
        var marks = _db.HashGetAll(UnavailableKey(Node)).ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
        var metrics = new List<MetricSummary>();
        foreach (var metric in NodeMetrics.All)
        {
            var key = SeriesKey(metric);
            long count = _db.SortedSetLength(key);
            var reason = marks.GetValueOrDefault(metric);
            if (count == 0)
            {
                if (reason is not null)
                    metrics.Add(new MetricSummary(metric, 0, null, null, null, reason));
                continue;
            }

            var (first, _) = Parse(key, _db.SortedSetRangeByRank(key, 0, 0)[0]);
            var (last, lastValue) = Parse(key, _db.SortedSetRangeByRank(key, -1, -1)[0]);
            metrics.Add(new MetricSummary(metric, (int)count, DateTimeOffset.FromUnixTimeMilliseconds(first),
                DateTimeOffset.FromUnixTimeMilliseconds(last), lastValue, reason));
        }

        return new NodeDataSummary(Node, $"redis {_endpoint} {KeyPrefix}{{{Node}}}:*", metrics);
    }

    private RedisKey SeriesKey(string metric) => SeriesKey(Node, metric);

    private (int Added, int Held, int Dropped) Run(RedisKey[] keys, List<RedisValue> args)
    {
        var limits = new List<RedisValue>(args.Count + 2) { (long)_limits.Retention.TotalMilliseconds, _limits.Capacity };
        limits.AddRange(args);
        var result = (RedisResult[])_db.ScriptEvaluate(AppendScript, keys, [.. limits])!;
        return ((int)result[0], (int)result[1], (int)result[2]);
    }

    private static string Member(long unixMs, float value) =>
        unixMs.ToString(CultureInfo.InvariantCulture) + ":" + value.ToString("R", CultureInfo.InvariantCulture);

    private static (long UnixMs, float Value) Parse(RedisKey key, RedisValue member)
    {
        var text = (string?)member ?? "";
        int colon = text.IndexOf(':');
        if (colon > 0
            && long.TryParse(text.AsSpan(0, colon), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var unixMs)
            && float.TryParse(text.AsSpan(colon + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            return (unixMs, value);
        throw new FormatException($"Redis {key} holds '{text}', not 'unix_ms:value'; the key was not written by IcosFl.");
    }
}
