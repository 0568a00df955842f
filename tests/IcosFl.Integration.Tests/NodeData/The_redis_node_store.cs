using IcosFl.Contracts;
using IcosFl.Integration.Tests.Servers;
using IcosFl.Learning.NodeData;
using IcosFl.TestKit.NodeData;
using IcosFl.Worker.Metrics;
using StackExchange.Redis;

namespace IcosFl.Integration.Tests.NodeData;

/// <summary>The node-store contract on the real Redis, plus what only Redis shows: its keys, and writers in two processes.</summary>
[Collection(ServersCollection.Name)]
public sealed class The_redis_node_store : NodeStoreContract
{
    private readonly IConnectionMultiplexer _redis;
    private readonly TestServers _servers;

    public The_redis_node_store(TestServers servers)
    {
        _servers = servers;
        _redis = ConnectionMultiplexer.Connect(servers.RedisConfiguration);
    }

    protected override INodeStore Open(string node, StoreLimits? limits = null) => new RedisNodeStore(_redis, node, limits);

    protected override bool Persists => true;

    protected override string StoreKind => "redis ";

    public override void Dispose()
    {
        var server = _redis.GetServer(_redis.GetEndPoints()[0]);
        foreach (var key in server.Keys(pattern: $"{RedisNodeStore.KeyPrefix}{{{NodeName}*"))
            _redis.GetDatabase().KeyDelete(key);
        _redis.Dispose();
        base.Dispose();
    }

    [Fact]
    public void Each_metric_is_a_sorted_set_scored_by_unix_milliseconds_and_the_marks_a_hash()
    {
        var store = Open(NodeName);
        store.Append([Cpu(0, 0.25), Cpu(3, 0.5)]);
        store.MarkUnavailable(Metrics.PowerConsumption, "no RAPL");
        var db = _redis.GetDatabase();

        Assert.Equal($"icosfl:node:{{{NodeName}}}:cpu_usage", (string?)RedisNodeStore.SeriesKey(NodeName, Metrics.CpuUsage));
        Assert.Equal(RedisType.SortedSet, db.KeyType(RedisNodeStore.SeriesKey(NodeName, Metrics.CpuUsage)));
        Assert.Equal(
            [new SortedSetEntry("1795860000000:0.25", 1795860000000), new SortedSetEntry("1795860003000:0.5", 1795860003000)],
            db.SortedSetRangeByRankWithScores(RedisNodeStore.SeriesKey(NodeName, Metrics.CpuUsage)));
        Assert.Equal("no RAPL", (string?)db.HashGet($"icosfl:node:{{{NodeName}}}:unavailable", Metrics.PowerConsumption));
        Assert.Equal(RedisType.None, db.KeyType(RedisNodeStore.SeriesKey(NodeName, Metrics.MemoryUsage)));
    }

    [Fact]
    public async Task A_collector_and_an_import_on_two_connections_lose_no_point_and_agree_on_the_trim()
    {
        // Two writers as in a deployed node: the worker's collector and `icosfl data import`, each with its own connection.
        await using var second = await ConnectionMultiplexer.ConnectAsync(_servers.RedisConfiguration);
        var limits = new StoreLimits(TimeSpan.FromDays(1), 1000);
        var collector = new RedisNodeStore(_redis, NodeName, limits);
        var import = new RedisNodeStore(second, NodeName, limits);

        var results = await Task.WhenAll(
            Task.Run(() => Enumerable.Range(0, 500).Select(i => collector.Append([Cpu(2 * i, i)])).ToList()),
            Task.Run(() => Enumerable.Range(0, 5).Select(b => import.Append(
                Enumerable.Range(100 * b, 100).Select(i => Cpu(2 * i + 1, i)).ToList())).ToList()));

        int added = results.SelectMany(r => r).Sum(r => r.Added), dropped = results.SelectMany(r => r).Sum(r => r.Dropped);
        Assert.Equal(1000, added);
        Assert.Equal(0, dropped);
        var (times, _) = collector.Points(Metrics.CpuUsage);
        Assert.Equal(Enumerable.Range(0, 1000).Select(s => T0.AddSeconds(s).ToUnixTimeMilliseconds()), times);
    }
}
