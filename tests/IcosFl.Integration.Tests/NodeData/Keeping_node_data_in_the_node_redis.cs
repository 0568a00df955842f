using System.Diagnostics;
using System.Text.Json;
using IcosFl.Contracts;
using IcosFl.Controller.Checkpoints;
using IcosFl.Controller.Prediction;
using IcosFl.Integration.Tests.Deployed;
using IcosFl.Integration.Tests.Servers;
using IcosFl.Learning;
using IcosFl.Learning.NodeData;
using IcosFl.TestKit;
using IcosFl.Worker.Metrics;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace IcosFl.Integration.Tests.NodeData;

/// <summary>The CLI and a deployed worker with --node-redis: import, show, predict and collection against the real Redis.</summary>
[Collection(ServersCollection.Name)]
public sealed class Keeping_node_data_in_the_node_redis(TestServers servers, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _node = "edge-" + Guid.NewGuid().ToString("N")[..10];
    private readonly string _dir = Directory.CreateTempSubdirectory("icosfl-node-redis-").FullName;
    private IConnectionMultiplexer _redis = null!;

    public async Task InitializeAsync() => _redis = await ConnectionMultiplexer.ConnectAsync(servers.RedisConfiguration);

    public async Task DisposeAsync()
    {
        foreach (var metric in NodeMetrics.All)
            await _redis.GetDatabase().KeyDeleteAsync(RedisNodeStore.SeriesKey(_node, metric));
        await _redis.GetDatabase().KeyDeleteAsync(RedisNodeStore.UnavailableKey(_node));
        _redis.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static async Task<(int Exit, string StdOut, string StdErr)> Cli(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "icosfl.dll"));
        foreach (var a in args)
            info.ArgumentList.Add(a);
        info.Environment.Remove("ICOSFL_NODE_REDIS");
        info.Environment.Remove("ICOSFL_DATA_STORE");
        var result = await ChildProcess.RunAsync(info, TimeSpan.FromMinutes(1));
        return (result.ExitCode, result.StdOut.Trim(), result.StdErr.Trim());
    }

    private string Csv(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Should_import_show_and_keep_what_is_stored_when_a_file_has_bad_rows()
    {
        var good = Csv("good.csv", "timestamp,cpu_usage,memory_usage\n2026-11-28T10:00:00Z,0.5,2048\n2026-11-28T10:00:03Z,0.75,2050\n");
        var import = await Cli("data", "import", "--file", good, "--node", _node, "--node-redis", servers.RedisConfiguration);
        Assert.True(import.Exit == 0, import.StdErr);
        Assert.Contains($"node {_node}: 4 points stored from 2 rows (0 already held and kept as they were, 0 beyond the retention or capacity dropped) " +
                        $"in redis {servers.RedisConfiguration} icosfl:node:{{{_node}}}:*", import.StdErr);

        var bad = Csv("bad.csv", "timestamp,cpu_usage\n2026-11-28T10:00:06Z,0.9\n2026-11-28T10:00:09Z,lots\n");
        var refused = await Cli("data", "import", "--file", bad, "--node", _node, "--data-store", "redis", "--node-redis", servers.RedisConfiguration);
        Assert.Equal(2, refused.Exit);
        Assert.Equal("icosfl data import: bad.csv line 3: cpu_usage 'lots' is not a finite number\n" +
                     "icosfl data import: 1 of 2 rows are bad; nothing was stored (fix them, or pass --skip-bad-rows to store the 1 good rows)",
            refused.StdErr);

        var show = await Cli("data", "show", "--json", "--node", _node, "--node-redis", servers.RedisConfiguration);
        Assert.True(show.Exit == 0, show.StdErr);
        using var summary = JsonDocument.Parse(show.StdOut);
        var metrics = summary.RootElement.GetProperty("metrics").EnumerateArray().ToList();
        Assert.Equal(["cpu_usage", "memory_usage"], metrics.Select(m => m.GetProperty("metric").GetString()));
        Assert.Equal([2, 2], metrics.Select(m => m.GetProperty("points").GetInt32()));
        Assert.Equal(0.75, metrics[0].GetProperty("lastValue").GetDouble());
        Assert.Equal([0.5f, 0.75f], new RedisNodeStore(_redis, _node).GetSeries(Metrics.CpuUsage));
    }

    [Fact]
    public async Task Should_refuse_a_redis_store_without_an_address_and_an_unreachable_one()
    {
        var missing = await Cli("data", "show", "--node", _node, "--data-store", "redis");
        Assert.Equal(2, missing.Exit);
        Assert.Equal("icosfl data show: --data-store redis needs the node's own Redis: pass --node-redis ADDR (or set ICOSFL_NODE_REDIS)", missing.StdErr);

        var nobody = await Cli("data", "show", "--node", _node, "--node-redis", "127.0.0.1:1,connectTimeout=500");
        Assert.Equal(3, nobody.Exit);
        Assert.StartsWith("icosfl data show: cannot reach the node Redis at 127.0.0.1:1", nobody.StdErr);
    }

    [Fact]
    public async Task Should_predict_from_the_points_in_the_node_redis()
    {
        var config = RunConfig.Default with { TimeStep = 6, ForecastHorizon = 4 };
        var start = new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
        var store = new RedisNodeStore(_redis, _node);
        store.Append(Enumerable.Range(0, 40).Select(i => new MetricSample(Metrics.CpuUsage, start.AddSeconds(3 * i), 1 + Math.Sin(i / 3.0))).ToList());
        var checkpoint = new Checkpoint
        {
            FederationId = Guid.NewGuid(),
            Round = 1,
            RunConfig = config,
            Weights = LocalTraining.InitialWeights(config),
            Metrics = new CheckpointMetrics(0.1, null, "none", ["w1"]),
        };
        var checkpoints = Path.Combine(_dir, "checkpoints");
        await new FileCheckpointStore(checkpoints).SaveAsync(checkpoint, CheckpointKind.Latest);

        var predicted = await Cli("predict", "--federation", checkpoint.FederationId.ToString(), "--node", _node, "--json",
            "--checkpoint-dir", checkpoints, "--node-redis", servers.RedisConfiguration);

        Assert.True(predicted.Exit == 0, predicted.StdErr);
        var (times, values) = store.Points(Metrics.CpuUsage);
        var expected = NodePrediction.Predict(checkpoint, $"federation {checkpoint.FederationId}", _node, times, values, null, null, null);
        using var json = JsonDocument.Parse(predicted.StdOut);
        Assert.Equal(start.AddSeconds(3 * 39), json.RootElement.GetProperty("origin").GetDateTimeOffset());
        Assert.Equal(expected.Points.Select(p => p.Value),
            json.RootElement.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("value").GetDouble()));
        Assert.Equal(4, expected.Points.Count);
    }

    [Fact]
    public async Task Should_collect_a_deployed_workers_samples_into_its_node_redis()
    {
        await using var fleet = await DeployedFleet.CreateAsync(servers, output);
        fleet.StartWorker(_node, "--data", "collect", "--scrape-interval", "0.2", "--node-redis", servers.RedisConfiguration);

        // The scrape service writes every 0.2 s: look at the store until the worker has taken three samples.
        var store = new RedisNodeStore(_redis, _node);
        await Eventually.WithinAsync(() => store.DataPoints().GetValueOrDefault(Metrics.MemoryUsage) >= 3, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100));

        Assert.True(store.DataPoints().GetValueOrDefault(Metrics.MemoryUsage) >= 3, $"samples in Redis: {string.Join(", ", store.DataPoints())}\n{fleet.LogTail()}");
        Assert.InRange(store.GetSeries(Metrics.MemoryUsage)![^1], 1f, 1e7f);
        Assert.Equal(RedisType.SortedSet, _redis.GetDatabase().KeyType(RedisNodeStore.SeriesKey(_node, Metrics.CpuUsage)));
    }
}
