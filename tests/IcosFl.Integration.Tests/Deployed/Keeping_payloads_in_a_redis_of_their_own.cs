using IcosFl.Infrastructure.Weights;
using IcosFl.Integration.Tests.Servers;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace IcosFl.Integration.Tests.Deployed;

/// <summary>
/// ICOSFL_PAYLOAD_REDIS on the real processes: a deployed federation whose weights go by claim check keeps
/// every payload in the payload Redis and none in the saga Redis, and a controller whose payload Redis does not
/// answer refuses to start, naming the setting. Workers have no Redis setting (Running_workers_that_reach_only_the_broker).
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class Keeping_payloads_in_a_redis_of_their_own(TestServers servers, ITestOutputHelper output)
{
    // One LSTM layer of 300 units: about 362k parameters, 1.4 MB of float32, over the 1 MiB inline
    // threshold, so global models and updates all travel by claim check.
    private const string BigModelRound = "num-server-rounds=1 min-fit-clients=2 min-evaluate-clients=2 local-epochs=1 hidden-layer-size=300";

    [Fact]
    public async Task Should_put_every_claim_checked_payload_in_the_payload_redis_and_none_in_the_saga_redis()
    {
        await using var fleet = await DeployedFleet.CreateAsync(servers, output, payloadRedisOfItsOwn: true);
        fleet.StartController();
        fleet.StartWorker("w1");
        fleet.StartWorker("w2");
        await fleet.ReadyAsync("w1", "w2");

        var id = Guid.Parse(await fleet.RunCliAsync("start", "--run-config", BigModelRound));
        await fleet.WaitForAsync(id, s => s.State == "Completed", TimeSpan.FromMinutes(3), "completion");

        var payloadKeys = await KeysAsync(fleet.PayloadRedis!, WeightTransport.KeyPrefix + "*");
        // The initial global model and the aggregated one stay (until their time to live), each stored as chunks plus
        // a ":n" count key. The updates of w1 and w2 went there too (a worker connects to no other Redis, and the round
        // aggregated both from the controller's claim-check store, which stored their chunks), and were removed once aggregated.
        var payloads = payloadKeys.Where(k => k.EndsWith(":n", StringComparison.Ordinal)).ToList();
        output.WriteLine($"payload Redis: {payloadKeys.Count} keys, payloads:{Environment.NewLine}{string.Join(Environment.NewLine, payloads)}");
        Assert.Equal(2, payloads.Count(k => k.Contains(":global:", StringComparison.Ordinal)));
        Assert.Equal(["w1", "w2"], (await fleet.SagaAsync(id))!.Rounds.Single().Participants.Order());
        Assert.DoesNotContain(payloadKeys, k => k.Contains(":w1:", StringComparison.Ordinal) || k.Contains(":w2:", StringComparison.Ordinal));

        // The saga Redis holds the federation's state, and no payload at all.
        Assert.Empty(await KeysAsync(fleet.Redis, WeightTransport.KeyPrefix + "*"));
        Assert.Empty(await KeysAsync(fleet.Redis, "icosfl:update:*"));
        Assert.NotEmpty(await KeysAsync(fleet.Redis, "icosfl:*"));

        // The federation's global model is referenced from the saga and readable from the payload Redis only.
        var globalKey = (await fleet.SagaAsync(id))!.GlobalWeights!.ClaimCheckKey;
        Assert.NotNull(globalKey);
        Assert.True(await fleet.PayloadRedis!.GetDatabase().KeyExistsAsync($"{globalKey}:n"), $"{globalKey} is not in the payload Redis");
        Assert.False(await fleet.Redis.GetDatabase().KeyExistsAsync($"{globalKey}:n"), $"{globalKey} is in the saga Redis");
    }

    [Fact]
    public async Task Should_refuse_to_start_the_controller_naming_the_setting_when_the_payload_redis_does_not_answer()
    {
        await using var fleet = await DeployedFleet.CreateAsync(servers, output);
        var environment = new Dictionary<string, string> { ["ICOSFL_PAYLOAD_REDIS"] = "127.0.0.1:1", ["ICOSFL_CONNECT_TIMEOUT"] = "3" };

        var (exit, _, stderr) = await fleet.RunCliAsync(environment, "controller", "--data", "synthetic", "--http", "off", "--log-dir", fleet.LogDir);

        Assert.Equal(3, exit);
        Assert.StartsWith("icosfl controller: cannot reach the payload Redis at 127.0.0.1:1 (ICOSFL_PAYLOAD_REDIS / --payload-redis): ", stderr);
    }

    [Fact]
    public async Task A_worker_has_no_redis_option_any_more()
    {
        await using var fleet = await DeployedFleet.CreateAsync(servers, output);

        var (exit, _, stderr) = await fleet.RunCliAsync(new Dictionary<string, string>(),
            "worker", "--id", "nowhere-1", "--data", "synthetic", "--payload-redis", "127.0.0.1:1", "--log-dir", fleet.LogDir);

        Assert.Equal(2, exit);
        Assert.Contains("--payload-redis", stderr);
    }

    private static async Task<List<string>> KeysAsync(IConnectionMultiplexer redis, string pattern)
    {
        var database = redis.GetDatabase().Database;
        var keys = new List<string>();
        foreach (var endpoint in redis.GetEndPoints())
            await foreach (var key in redis.GetServer(endpoint).KeysAsync(database, pattern))
                keys.Add(key.ToString());
        return keys;
    }
}
