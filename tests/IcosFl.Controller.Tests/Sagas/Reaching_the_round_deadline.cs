using IcosFl.Contracts;

namespace IcosFl.Controller.Tests.Sagas;

public sealed class Reaching_the_round_deadline
{
    private static readonly string[] Workers = ["worker-1", "worker-2", "worker-3"];

    [Fact]
    public async Task Should_aggregate_what_arrived_when_it_holds_min_fit_clients_updates()
    {
        await using var h = await FederationHarness.StartAsync();
        await h.HeartbeatAsync(Workers);
        var id = await h.StartFederationAsync(RunConfig.Default with
        {
            NumServerRounds = 1, MinFitClients = 2, MinEvaluateClients = 10, RoundTimeout = 1,
        });

        var started = await h.PublishedAsync<RoundStarted>(3, m => m.FederationId == id);
        await h.SubmitAsync(started[0], started[0].WorkerId, delta: 1f, numExamples: 10);
        await h.SubmitAsync(started[1], started[1].WorkerId, delta: 3f, numExamples: 10);

        var completed = (await h.PublishedAsync<RoundCompleted>(1, m => m.FederationId == id)).Single();
        Assert.Equal(new[] { started[0].WorkerId, started[1].WorkerId }.Order(), completed.Participants.Order());
        var missing = Assert.Single(completed.Rejected);
        Assert.Equal(started[2].WorkerId, missing.WorkerId);
        Assert.Contains("deadline", missing.Reason);
        Assert.True(completed.DurationMs >= 900, $"round completed after {completed.DurationMs} ms, before its 1 s deadline");

        var global = await h.Transport.UnpackAsync(started[0].GlobalWeights);
        var next = await h.Transport.UnpackAsync(completed.GlobalWeights);
        Assert.Equal(global.Tensors[0].Data[0] + 2f, next.Tensors[0].Data[0], 5);
    }

    [Fact]
    public async Task Should_fail_the_round_with_too_few_updates_and_fail_the_federation_when_retries_run_out()
    {
        await using var h = await FederationHarness.StartAsync();
        await h.HeartbeatAsync(Workers);
        var id = await h.StartFederationAsync(RunConfig.Default with
        {
            NumServerRounds = 2, MinFitClients = 2, RoundTimeout = 0.5, RoundRetries = 1, RoundRetryDelay = 0, // Waiting_for_data tests the delay
        });

        // Attempt 1 and its retry each get one update only.
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            var started = await h.PublishedAsync<RoundStarted>(3 * attempt, m => m.FederationId == id);
            var latest = started.Skip(3 * (attempt - 1)).ToList();
            Assert.Single(latest.Select(s => s.RoundId).Distinct());
            await h.SubmitAsync(latest[0], latest[0].WorkerId, delta: 1f, numExamples: 10);
            var failed = await h.PublishedAsync<RoundFailed>(attempt, m => m.FederationId == id);
            Assert.Equal(attempt, failed[^1].Attempt);
            Assert.Equal(1, failed[^1].Round);
            Assert.Contains("1 of 3 selected workers sent an update by the deadline, min-fit-clients is 2", failed[^1].Reason);
        }

        var federationFailed = (await h.PublishedAsync<FederationFailed>(1, m => m.FederationId == id)).Single();
        Assert.Contains("round 1 failed 2 times", federationFailed.Reason);
        Assert.NotNull(await h.Federations.Exists(id, m => m.Failed));
        Assert.False(await h.Harness.Published.Any<RoundCompleted>(m => m.Context.Message.FederationId == id,
            new CancellationTokenSource(TimeSpan.FromMilliseconds(200)).Token));
    }
}
