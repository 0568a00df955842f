using IcosFl.Integration.Tests.Servers;
using Xunit.Abstractions;

namespace IcosFl.Integration.Tests.Deployed;

/// <summary>
/// Issue 19 part 3, deployed: worker processes that start with an empty store and collect their own metrics (the
/// worker's default, at a 0.5 s scrape interval so the test takes seconds, not minutes) are alive at once but not
/// ready; the federation waits in WaitingForQuorum saying why, then completes once they hold enough points, with no
/// failed round. A worker that never holds enough makes the federation fail after quorum-timeout, naming what it has.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class Waiting_for_data_on_fresh_workers(TestServers servers, ITestOutputHelper output)
{
    // memory_usage changes at every scrape (the load average may sit at 0.00 on an idle machine: a constant series).
    // time-step 5 and forecast-horizon 5: 26 + 5 = 31 points (SeriesChecks.PointsNeeded), about 16 s at 0.5 s.
    private const string Config =
        "num-server-rounds=1 local-epochs=1 metric=memory_usage time-step=5 forecast-horizon=5 min-fit-clients=2 min-available-clients=2 "
        + "min-evaluate-clients=2 quorum-timeout=300";

    [Fact]
    public async Task Should_wait_saying_why_then_complete_once_the_workers_hold_enough_points()
    {
        await using var fleet = await DeployedFleet.CreateAsync(servers, output);
        var dataDir = Directory.CreateTempSubdirectory("icosfl-fresh-").FullName;
        try
        {
            fleet.StartController();
            foreach (var w in new[] { "w1", "w2" })
                fleet.StartWorker(w, "--data", "collect", "--scrape-interval", "0.5", "--data-store", "file", "--data-dir", dataDir);
            await fleet.ReadyAsync("w1", "w2");
            var id = Guid.Parse(await fleet.RunCliAsync("start", "--run-config", Config));

            var waiting = await fleet.WaitForAsync(id, s => s.Waiting is not null, TimeSpan.FromSeconds(30), "a waiting reason");
            Assert.Equal("Running", waiting.State);
            Assert.Equal("WaitingForQuorum", waiting.Phase);
            Assert.StartsWith("waiting for 2 workers with >= 31 memory_usage points", waiting.Waiting);
            Assert.Matches(@"w[12] has \d+", waiting.Waiting);

            var done = await fleet.WaitForAsync(id, s => s.State == "Completed", TimeSpan.FromMinutes(3), "completion");
            var round = Assert.Single(done.Rounds);
            Assert.Equal("Completed", round.State);
            Assert.Equal(1, round.Attempt);
            Assert.Equal(["w1", "w2"], round.Participants.Order());
            Assert.All(done.Workers.Where(w => w.Id is "w1" or "w2"), w => Assert.True(w.DataPoints["memory_usage"] >= 31));
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task Should_fail_after_quorum_timeout_naming_the_worker_and_its_points()
    {
        await using var fleet = await DeployedFleet.CreateAsync(servers, output);
        fleet.StartController();
        fleet.StartWorker("w1", "--points", "20");
        fleet.StartWorker("w2");
        await fleet.ReadyAsync("w1", "w2");
        var id = Guid.Parse(await fleet.RunCliAsync("start", "--run-config",
            "num-server-rounds=1 local-epochs=1 time-step=5 forecast-horizon=5 min-fit-clients=2 min-available-clients=2 quorum-timeout=3"));

        var failed = await fleet.WaitForAsync(id, s => s.State == "Failed", TimeSpan.FromMinutes(1), "the quorum timeout");
        output.WriteLine(failed.Reason);
        Assert.StartsWith("no quorum for round 1 within quorum-timeout 3 s: waiting for 2 workers with >= 31 cpu_usage points", failed.Reason);
        Assert.Contains("w1 has 20", failed.Reason);
        Assert.Empty(failed.Rounds);
    }
}
