using IcosFl.Contracts;

namespace IcosFl.Controller.Tests.Sagas;

public sealed class Receiving_duplicate_late_and_foreign_updates
{
    private static readonly string[] Workers = ["worker-1", "worker-2", "worker-3"];

    [Fact]
    public async Task Should_count_a_duplicate_update_once()
    {
        await using var h = await FederationHarness.StartAsync();
        await h.HeartbeatAsync(Workers);
        var id = await h.StartFederationAsync(RunConfig.Default with { NumServerRounds = 1, MinEvaluateClients = 10 });
        var started = await h.PublishedAsync<RoundStarted>(3, m => m.FederationId == id);

        // worker-1 sends twice, the second time with other weights: only the first counts.
        await h.SubmitAsync(started[0], started[0].WorkerId, delta: 1f, numExamples: 10);
        await h.SubmitAsync(started[0], started[0].WorkerId, delta: 100f, numExamples: 10);
        Assert.True(await h.Harness.Consumed.Any<WeightUpdateSubmitted>(
            m => m.Context.Message.WorkerId == started[0].WorkerId));
        var round = await h.Rounds.Exists(started[0].RoundId, m => m.Collecting);
        Assert.NotNull(round);

        await h.SubmitAsync(started[1], started[1].WorkerId, delta: 1f, numExamples: 10);
        await h.SubmitAsync(started[2], started[2].WorkerId, delta: 1f, numExamples: 10);

        var completed = (await h.PublishedAsync<RoundCompleted>(1, m => m.FederationId == id)).Single();
        Assert.Equal(3, completed.Participants.Count);
        var global = await h.Transport.UnpackAsync(started[0].GlobalWeights);
        var next = await h.Transport.UnpackAsync(completed.GlobalWeights);
        Assert.Equal(global.Tensors[0].Data[0] + 1f, next.Tensors[0].Data[0], 5);
        Assert.Equal(3, h.Rounds.Sagas.Contains(started[0].RoundId)!.Updates.Count);
    }

    [Fact]
    public async Task Should_ignore_an_update_arriving_after_the_round_completed()
    {
        await using var h = await FederationHarness.StartAsync();
        await h.HeartbeatAsync(Workers);
        var id = await h.StartFederationAsync(RunConfig.Default with
        {
            NumServerRounds = 1, MinFitClients = 2, MinEvaluateClients = 10, RoundTimeout = 0.5,
        });
        var started = await h.PublishedAsync<RoundStarted>(3, m => m.FederationId == id);
        await h.SubmitAsync(started[0], started[0].WorkerId, delta: 1f, numExamples: 10);
        await h.SubmitAsync(started[1], started[1].WorkerId, delta: 1f, numExamples: 10);
        await h.PublishedAsync<RoundCompleted>(1, m => m.FederationId == id);
        Assert.NotNull(await h.Rounds.Exists(started[0].RoundId, m => m.Completed));

        await h.SubmitAsync(started[2], started[2].WorkerId, delta: 50f, numExamples: 1000);
        Assert.True(await h.Harness.Consumed.Any<WeightUpdateSubmitted>(m => m.Context.Message.WorkerId == started[2].WorkerId));

        var round = h.Rounds.Sagas.Contains(started[0].RoundId)!;
        Assert.Equal(2, round.Updates.Count);
        Assert.DoesNotContain(round.Updates, u => u.WorkerId == started[2].WorkerId);
        Assert.Single(h.Harness.Published.Select<RoundCompleted>(m => m.Context.Message.FederationId == id));
    }

    [Fact]
    public async Task Should_reject_an_update_from_a_worker_that_was_not_selected()
    {
        await using var h = await FederationHarness.StartAsync();
        await h.HeartbeatAsync(Workers);
        var id = await h.StartFederationAsync(RunConfig.Default with { NumServerRounds = 1, MinEvaluateClients = 10 });
        var started = await h.PublishedAsync<RoundStarted>(3, m => m.FederationId == id);

        await h.SubmitAsync(started[0], "intruder", delta: 1000f, numExamples: 1_000_000);
        foreach (var s in started)
            await h.SubmitAsync(s, s.WorkerId, delta: 1f, numExamples: 10);

        var completed = (await h.PublishedAsync<RoundCompleted>(1, m => m.FederationId == id)).Single();
        Assert.DoesNotContain("intruder", completed.Participants);
        Assert.Contains(completed.Rejected, r => r.WorkerId == "intruder" && r.Reason.Contains("not selected"));
        var global = await h.Transport.UnpackAsync(started[0].GlobalWeights);
        var next = await h.Transport.UnpackAsync(completed.GlobalWeights);
        Assert.Equal(global.Tensors[0].Data[0] + 1f, next.Tensors[0].Data[0], 5);
    }

    [Fact]
    public async Task Should_leave_a_worker_that_declined_out_and_aggregate_the_rest()
    {
        await using var h = await FederationHarness.StartAsync();
        await h.HeartbeatAsync(Workers);
        var id = await h.StartFederationAsync(RunConfig.Default with { NumServerRounds = 1, MinFitClients = 2, MinEvaluateClients = 10 });
        var started = await h.PublishedAsync<RoundStarted>(3, m => m.FederationId == id);

        await h.Harness.Bus.Publish(new TrainingDeclined
        {
            FederationId = id, RoundId = started[0].RoundId, Round = 1, WorkerId = started[0].WorkerId,
            Reason = "node holds 12 cpu_usage points, needs at least 40",
        });
        await h.SubmitAsync(started[1], started[1].WorkerId, delta: 1f, numExamples: 10);
        await h.SubmitAsync(started[2], started[2].WorkerId, delta: 1f, numExamples: 10);

        // All selected answered: no need to wait for the (120 s) deadline.
        var completed = (await h.PublishedAsync<RoundCompleted>(1, m => m.FederationId == id, TimeSpan.FromSeconds(20))).Single();
        Assert.Equal(2, completed.Participants.Count);
        Assert.Contains(completed.Rejected, r => r.WorkerId == started[0].WorkerId && r.Reason.Contains("needs at least 40"));
    }

    [Fact]
    public async Task Should_reject_nan_weights_and_still_complete_with_the_rest()
    {
        await using var h = await FederationHarness.StartAsync();
        await h.HeartbeatAsync(Workers);
        var id = await h.StartFederationAsync(RunConfig.Default with { NumServerRounds = 1, MinFitClients = 2, MinEvaluateClients = 10 });
        var started = await h.PublishedAsync<RoundStarted>(3, m => m.FederationId == id);

        var global = await h.Transport.UnpackAsync(started[0].GlobalWeights);
        await h.Harness.Bus.Publish(new WeightUpdateSubmitted
        {
            FederationId = id, RoundId = started[0].RoundId, Round = 1, WorkerId = started[0].WorkerId,
            Weights = WithNaN(global, elementOfFirstTensor: 3), NumExamples = 10, Metrics = new TrainMetrics(0.1, 1, 1),
        });
        await h.SubmitAsync(started[1], started[1].WorkerId, delta: 1f, numExamples: 10);
        await h.SubmitAsync(started[2], started[2].WorkerId, delta: 1f, numExamples: 10);

        var completed = (await h.PublishedAsync<RoundCompleted>(1, m => m.FederationId == id)).Single();
        Assert.Equal(2, completed.Participants.Count);
        var rejected = Assert.Single(completed.Rejected);
        Assert.Equal(started[0].WorkerId, rejected.WorkerId);
        Assert.Contains(global.Tensors[0].Name, rejected.Reason);
    }

    /// <summary>
    /// A payload with a NaN in it, as a broken or hostile worker would send: the codec refuses to encode
    /// NaN, so the float's bytes are overwritten after encoding (and the checksum recomputed).
    /// </summary>
    private static WeightsPayload WithNaN(ModelWeights weights, int elementOfFirstTensor)
    {
        var bytes = Infrastructure.Weights.WeightCodec.Encode(weights);
        var target = BitConverter.GetBytes(weights.Tensors[0].Data[elementOfFirstTensor]);
        var at = bytes.AsSpan().IndexOf(target);
        Assert.True(at >= 0);
        BitConverter.GetBytes(float.NaN).CopyTo(bytes, at);
        return new WeightsPayload
        {
            Inline = bytes, Length = bytes.Length, Checksum = Infrastructure.Weights.WeightTransport.Checksum(bytes),
        };
    }
}
