using IcosFl.Contracts;
using IcosFl.Controller.Rounds;
using Microsoft.Extensions.DependencyInjection;

namespace IcosFl.Controller.Tests.Sagas;

public sealed class Losing_a_worker_mid_round
{
    [Fact]
    public async Task Should_stop_waiting_for_a_selected_worker_whose_heartbeats_lapse()
    {
        await using var h = await FederationHarness.StartAsync();
        await h.HeartbeatAsync("worker-1", "worker-2");
        // worker-3 announces a 3 s heartbeat interval and then falls silent: offline after 6 s (patience 2).
        await h.Harness.Bus.Publish(new WorkerHeartbeat
        {
            WorkerId = "worker-3", Host = "test", DataPoints = new Dictionary<string, int> { [Metrics.CpuUsage] = 600 },
            Timestamp = DateTimeOffset.UtcNow, IntervalSeconds = 3,
        });
        Assert.True(await h.Harness.Consumed.Any<WorkerHeartbeat>(m => m.Context.Message.WorkerId == "worker-3"));
        var id = await h.StartFederationAsync(RunConfig.Default with
        {
            NumServerRounds = 1, MinFitClients = 2, MinEvaluateClients = 10, RoundTimeout = 120,
        });

        var started = await h.PublishedAsync<RoundStarted>(3, m => m.FederationId == id);
        foreach (var s in started.Where(s => s.WorkerId != "worker-3"))
            await h.SubmitAsync(s, s.WorkerId, delta: 1f, numExamples: 10);

        // Completes long before the 120 s deadline, without worker-3.
        var completed = (await h.PublishedAsync<RoundCompleted>(1, m => m.FederationId == id, TimeSpan.FromSeconds(20))).Single();
        Assert.Equal(["worker-1", "worker-2"], completed.Participants.Order());
        Assert.Contains(completed.Rejected, r => r.WorkerId == "worker-3" && r.Reason.Contains("offline"));
    }

    [Fact]
    public async Task Should_conclude_from_a_ledger_an_earlier_give_up_closed_even_if_that_attempt_was_lost()
    {
        // An earlier liveness check gave up on worker-3 and so closed the ledger, then failed before the saga was
        // saved (a retry, a restart): no answer will announce the closed set, so the next check must find it.
        await using var h = await FederationHarness.StartAsync();
        await h.HeartbeatAsync("worker-1", "worker-2", "worker-3");
        var id = await h.StartFederationAsync(RunConfig.Default with
        {
            NumServerRounds = 1, MinFitClients = 2, MinEvaluateClients = 10, RoundTimeout = 120,
        });
        var started = await h.PublishedAsync<RoundStarted>(3, m => m.FederationId == id);
        var ledger = h.Services.GetRequiredService<IRoundLedger>();

        foreach (var s in started.Where(s => s.WorkerId != "worker-3"))
            await h.SubmitAsync(s, s.WorkerId, delta: 1f, numExamples: 10);
        foreach (var worker in new[] { "worker-1", "worker-2" })
            Assert.True(await h.Harness.Consumed.Any<WeightUpdateSubmitted>(c => c.Context.Message.WorkerId == worker));

        var closed = await ledger.GiveUpAsync(started[0].RoundId, RoundPhase.Training, ["worker-3"], "went offline during the round (missed heartbeats)");

        Assert.Equal(["worker-3"], closed.GivenUp);
        Assert.True(closed.ClosedTheLedger);
        // worker-3 still heartbeats, so this controller's own checks give up on nobody; the round ends long before its 120 s deadline.
        var completed = (await h.PublishedAsync<RoundCompleted>(1, m => m.FederationId == id, TimeSpan.FromSeconds(20))).Single();
        Assert.Equal(["worker-1", "worker-2"], completed.Participants.Order());
        Assert.Contains(completed.Rejected, r => r.WorkerId == "worker-3" && r.Reason.Contains("offline"));
    }
}
