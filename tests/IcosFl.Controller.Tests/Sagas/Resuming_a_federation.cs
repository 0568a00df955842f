using IcosFl.Contracts;
using IcosFl.Controller.Checkpoints;
using IcosFl.Controller.Tests.Checkpoints;
using MassTransit;

namespace IcosFl.Controller.Tests.Sagas;

public sealed class Resuming_a_federation
{
    private static readonly string[] Workers = ["worker-1", "worker-2"];

    [Fact]
    public async Task Should_checkpoint_each_aggregated_model_as_latest_and_best()
    {
        await using var h = await FederationHarness.StartAsync();
        await h.HeartbeatAsync(Workers);
        var id = await h.StartFederationAsync(RunConfig.Default with { NumServerRounds = 1, MinEvaluateClients = 10 });
        var started = await h.PublishedAsync<RoundStarted>(2, m => m.FederationId == id);
        foreach (var s in started)
            await h.SubmitAsync(s, s.WorkerId, delta: 0.5f, numExamples: 10);

        var completed = (await h.PublishedAsync<RoundCompleted>(1, m => m.FederationId == id)).Single();

        var latest = await h.Checkpoints.LoadAsync(id, CheckpointKind.Latest);
        var best = await h.Checkpoints.LoadAsync(id, CheckpointKind.Best);
        Assert.NotNull(latest);
        Assert.Same(latest, best);
        Assert.Equal(1, latest.Round);
        CheckpointStoreTests.AssertSameWeights(await h.Transport.UnpackAsync(completed.GlobalWeights), latest.Weights);
        Assert.Equal(completed.CentralizedEval, latest.Metrics.Centralized);
        Assert.Equal(Workers, latest.Metrics.Participants.Order());
        // The controller's own series (synthetic node 0, 600 points): min-max of its first 480.
        Assert.Equal(480, latest.Scaler!.Points);
        Assert.True(latest.Scaler.Max > latest.Scaler.Min);
    }

    [Fact]
    public async Task Should_continue_from_the_checkpointed_weights_at_the_next_round()
    {
        await using var h = await FederationHarness.StartAsync();
        await h.HeartbeatAsync(Workers);
        var previous = Guid.NewGuid();
        var checkpoint = CheckpointStoreTests.Sample(previous, round: 2, mse: 0.1) with { };
        checkpoint = checkpoint with { RunConfig = checkpoint.RunConfig with { NumServerRounds = 3, MinEvaluateClients = 10, Metric = Metrics.CpuUsage } };
        await h.Checkpoints.SaveRoundAsync(checkpoint);

        var id = NewId.NextGuid();
        await h.Harness.Bus.Publish(new StartFederation { FederationId = id, ResumeFrom = previous });

        var started = await h.PublishedAsync<RoundStarted>(2, m => m.FederationId == id);
        Assert.All(started, s => Assert.Equal(3, s.Round));
        Assert.All(started, s => Assert.Equal(5, s.RunConfig.HiddenLayerSize));
        CheckpointStoreTests.AssertSameWeights(checkpoint.Weights, await h.Transport.UnpackAsync(started[0].GlobalWeights));

        foreach (var s in started)
            await h.SubmitAsync(s, s.WorkerId, delta: 1f, numExamples: 10);
        Assert.True(await h.Harness.Published.Any<FederationCompleted>(m => m.Context.Message.FederationId == id));
        Assert.Equal(3, (await h.Checkpoints.LoadAsync(id, CheckpointKind.Latest))!.Round);
    }

    [Fact]
    public async Task Should_refuse_to_resume_a_federation_without_a_checkpoint_or_with_no_rounds_left()
    {
        await using var h = await FederationHarness.StartAsync();
        var missing = Guid.NewGuid();
        var done = CheckpointStoreTests.Sample(Guid.NewGuid(), round: 10, mse: 0.1);
        await h.Checkpoints.SaveRoundAsync(done);

        await h.Harness.Bus.Publish(new StartFederation { FederationId = NewId.NextGuid(), ResumeFrom = missing });
        await h.Harness.Bus.Publish(new StartFederation { FederationId = NewId.NextGuid(), ResumeFrom = done.FederationId });

        var faults = await h.PublishedAsync<Fault<StartFederation>>(2, _ => true);
        var reasons = faults.Select(f => f.Exceptions.Single().Message).ToList();
        Assert.Contains(reasons, r => r.Contains($"no checkpoint of federation {missing}"));
        Assert.Contains(reasons, r => r.Contains("is checkpointed at round 10 and num-server-rounds is 10: nothing left to run"));
    }
}
