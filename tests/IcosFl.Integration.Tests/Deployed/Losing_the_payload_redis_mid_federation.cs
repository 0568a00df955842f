using IcosFl.Cli.Logs;
using IcosFl.Integration.Tests.Servers;
using Xunit.Abstractions;

namespace IcosFl.Integration.Tests.Deployed;

/// <summary>
/// The payload Redis keeps nothing on disk: restarted, it comes back empty. A deployed federation of a model
/// over the claim-check threshold loses its global model's payload mid-federation and still completes: the
/// controller regains the model from its checkpoint of the previous round before it sends it out again.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class Losing_the_payload_redis_mid_federation(TestServers servers, ITestOutputHelper output)
{
    // hidden-layer-size 300: about 1.4 MB encoded, just over the 1 MiB inline threshold, so every model goes by claim check.
    private const string BigModelRounds =
        "num-server-rounds=2 min-fit-clients=2 min-available-clients=2 min-evaluate-clients=2 local-epochs=1 hidden-layer-size=300 round-retries=2";

    [Fact]
    public async Task Should_complete_after_the_payload_redis_is_emptied_between_rounds()
    {
        await using var fleet = await DeployedFleet.CreateAsync(servers, output, payloadRedisOfItsOwn: true);
        fleet.StartController("--checkpoint-dir", Path.Combine(fleet.LogDir, "checkpoints"));
        fleet.StartWorker("w1");
        fleet.StartWorker("w2");
        await fleet.ReadyAsync("w1", "w2");

        var id = Guid.Parse(await fleet.RunCliAsync("start", "--run-config", BigModelRounds));
        await fleet.WaitForAsync(id, s => s.Rounds.Any(r => r is { Round: 1, State: "Completed" }), TimeSpan.FromMinutes(2), "round 1 completed");
        // The round saga reports completion before the federation saga takes round 1's model as its global one.
        var lost = await RoundOnesGlobalModelAsync(fleet, id);

        // What a restart of the payload Redis leaves (no AOF, no snapshots): nothing. Round 2 aggregates from round 1's
        // global model, so however far round 2 got, that model is needed again and must be regained.
        foreach (var endpoint in fleet.PayloadRedis!.GetEndPoints())
            await fleet.PayloadRedis.GetServer(endpoint).FlushDatabaseAsync(fleet.PayloadRedis.GetDatabase().Database);
        output.WriteLine($"payload Redis emptied; the saga's global model was {lost}");

        var done = await fleet.WaitForAsync(id, s => s.State == "Completed", TimeSpan.FromMinutes(3), "completion");
        Assert.Contains(done.Rounds, r => r is { Round: 2, State: "Completed" });

        var regained = new FederationLog(fleet.LogDir, id).ReadNew()
            .Where(e => e.Level == "Warning" && e.Message.Contains("regained from", StringComparison.Ordinal))
            .ToList();
        foreach (var e in regained)
            output.WriteLine(e.Message);
        var warning = Assert.Single(regained);
        Assert.Contains($"claim-check key {lost}", warning.Message);
        Assert.Contains($"the latest checkpoint of federation {id}", warning.Message);
        Assert.Contains("byte for byte", warning.Message);
    }

    private static async Task<string> RoundOnesGlobalModelAsync(DeployedFleet fleet, Guid id)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var key = (await fleet.SagaAsync(id))?.GlobalWeights?.ClaimCheckKey;
            if (key is not null && key.Contains(":global:1:", StringComparison.Ordinal))
                return key;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"federation {id} did not take round 1's model as its global model within 30 s (saga holds {key ?? "none"})\n{fleet.LogTail()}");
            await Task.Delay(50);
        }
    }
}
