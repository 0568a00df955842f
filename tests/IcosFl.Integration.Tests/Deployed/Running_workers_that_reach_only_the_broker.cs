using System.Net;
using IcosFl.Controller.Payloads;
using IcosFl.Infrastructure.Weights;
using IcosFl.Integration.Tests.Servers;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace IcosFl.Integration.Tests.Deployed;

/// <summary>
/// Issue 16 part 3 on the real processes: workers started with no Redis setting at all (no --redis, no
/// ICOSFL_REDIS / ICOSFL_PAYLOAD_REDIS) take part in a federation whose weights are too large to travel inline. They
/// fetch the global model from the controller and send their updates back as chunk messages over RabbitMQ; the
/// controller keeps every payload in its private payload Redis, under keys it made itself; and while the federation
/// runs, no worker holds a connection to any Redis.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class Running_workers_that_reach_only_the_broker(TestServers servers, ITestOutputHelper output)
{
    // One LSTM layer of 300 units: about 362k parameters, 1.4 MB of float32, over the 1 MiB inline threshold: two chunks.
    private const string BigModel = "num-server-rounds=2 min-fit-clients=2 min-evaluate-clients=2 local-epochs=1 hidden-layer-size=300";

    [Fact]
    public async Task Workers_with_no_redis_setting_take_part_with_chunked_weights_and_never_connect_to_redis()
    {
        await using var fleet = await DeployedFleet.CreateAsync(servers, output, payloadRedisOfItsOwn: true);
        var controller = fleet.StartController();
        var workers = new[] { "w1", "w2" }.ToDictionary(w => w, w => fleet.StartWorker(w));
        await fleet.ReadyAsync("w1", "w2");
        var redisPorts = new[] { servers.RedisConfiguration, servers.PayloadRedisConfiguration }
            .SelectMany(c => ConfigurationOptions.Parse(c).EndPoints)
            .Select(e => e switch { IPEndPoint ip => ip.Port, DnsEndPoint dns => dns.Port, _ => throw new InvalidOperationException($"endpoint {e}") })
            .ToHashSet();

        var id = Guid.Parse(await fleet.RunCliAsync("start", "--run-config", BigModel));
        // Sampled while the federation runs: a worker's connections are the broker's, never a Redis.
        var seenPorts = new HashSet<int>();
        var done = await fleet.WaitForAsync(id, s =>
        {
            foreach (var worker in workers.Values)
                seenPorts.UnionWith(DeployedFleet.RemotePortsOf(worker));
            return s.State is "Completed" or "Failed";
        }, TimeSpan.FromMinutes(4), "completion");

        Assert.Equal("Completed", done.State);
        Assert.All(done.Rounds, r => Assert.Equal(["w1", "w2"], r.Participants.Order()));
        Assert.Contains(servers.BrokerUri.Port, seenPorts);
        Assert.Empty(seenPorts.Intersect(redisPorts));
        Assert.Contains(DeployedFleet.RemotePortsOf(controller), p => redisPorts.Contains(p));

        // The model went by reference (the saga's global model is a claim-check key over the inline threshold) ...
        var global = (await fleet.SagaAsync(id))!.GlobalWeights!;
        Assert.NotNull(global.ClaimCheckKey);
        Assert.True(global.Length > 1024 * 1024, $"global model of {global.Length} bytes");
        // ... fetched by the workers from the controller over the broker and sent back as chunks: both workers trained
        // both rounds, the controller stored their updates under its own upload keys and removed them once aggregated.
        foreach (var w in workers.Keys)
        {
            var log = File.ReadAllText(Directory.EnumerateFiles(fleet.LogDir, $"worker-{w}-*.clef").Single());
            Assert.Equal(2, log.Split("trained round").Length - 1);
            Assert.DoesNotContain("Redis", log.Split('\n').First(l => l.Contains("started on", StringComparison.Ordinal)));
        }

        var uploads = new List<string>();
        await foreach (var key in fleet.PayloadRedis!.GetServer(fleet.PayloadRedis.GetEndPoints()[0])
                           .KeysAsync(fleet.PayloadRedis.GetDatabase().Database, ChunkedUploads.KeyPrefix + "*"))
            uploads.Add(key.ToString());
        Assert.Empty(uploads);
        Assert.True(await fleet.PayloadRedis.GetDatabase().KeyExistsAsync($"{global.ClaimCheckKey}:n"));
        Assert.Equal(WeightTransport.Checksum([]).Length, global.Checksum.Length); // SHA-256, 64 hex digits
    }
}
