using IcosFl.Contracts;
using IcosFl.Controller.Messages;
using IcosFl.Infrastructure.Weights;
using Microsoft.Extensions.DependencyInjection;

namespace IcosFl.Controller.Tests.Sagas;

public sealed class Completing_a_round_with_quorum
{
    private static readonly string[] Workers = ["worker-1", "worker-2", "worker-3"];

    [Fact]
    public async Task Should_aggregate_all_selected_updates_by_example_weighted_average()
    {
        await using var h = await FederationHarness.StartAsync();
        await h.HeartbeatAsync(Workers);
        // min-evaluate-clients above the fleet: no federated evaluation, the round completes after aggregation.
        var id = await h.StartFederationAsync(RunConfig.Default with { NumServerRounds = 1, MinEvaluateClients = 10 });

        var started = await h.PublishedAsync<RoundStarted>(3, m => m.FederationId == id);
        Assert.Equal(Workers, started.Select(s => s.WorkerId).Order());
        Assert.Single(started.Select(s => s.RoundId).Distinct());

        var global = await h.Transport.UnpackAsync(started[0].GlobalWeights);
        await h.SubmitAsync(started[0], started[0].WorkerId, delta: 1f, numExamples: 100, loss: 0.4);
        await h.SubmitAsync(started[1], started[1].WorkerId, delta: 2f, numExamples: 100, loss: 0.4);
        await h.SubmitAsync(started[2], started[2].WorkerId, delta: 3f, numExamples: 200, loss: 0.8);

        var completed = (await h.PublishedAsync<RoundCompleted>(1, m => m.FederationId == id)).Single();
        Assert.Equal(1, completed.Round);
        Assert.Equal(Workers, completed.Participants.Order());
        // (100 x 0.4 + 100 x 0.4 + 200 x 0.8) / 400
        Assert.Equal(0.6, completed.TrainLoss, 10);
        Assert.NotNull(completed.CentralizedEval);

        // FedAvg: global + (100 x 1 + 100 x 2 + 200 x 3) / 400 = global + 2.25 on every element.
        var next = await h.Transport.UnpackAsync(completed.GlobalWeights);
        for (var t = 0; t < global.Tensors.Count; t++)
            for (var i = 0; i < global.Tensors[t].Data.Length; i++)
                Assert.Equal(global.Tensors[t].Data[i] + 2.25f, next.Tensors[t].Data[i], 5);

        Assert.True(await h.Harness.Published.Any<FederationCompleted>(m => m.Context.Message.FederationId == id));
        Assert.NotNull(await h.Federations.Exists(id, m => m.Completed));
        var saga = h.Federations.Sagas.Contains(id)!;
        Assert.Single(saga.Rounds);
        Assert.Equal("Completed", saga.Rounds[0].State);
    }

    [Fact]
    public async Task Should_remove_the_aggregated_updates_from_the_claim_check_store()
    {
        await using var h = await FederationHarness.StartAsync();
        var store = (InMemoryClaimCheckStore)h.Services.GetRequiredService<IClaimCheckStore>();
        await h.HeartbeatAsync(Workers);
        var id = await h.StartFederationAsync(RunConfig.Default with { NumServerRounds = 1, MinEvaluateClients = 10 });
        var started = await h.PublishedAsync<RoundStarted>(3, m => m.FederationId == id);
        foreach (var s in started)
            await h.SubmitAsync(s, s.WorkerId, delta: 1f, numExamples: 10);

        // The small model travels inline: the only entries are the three updates the controller put aside.
        var aggregated = await h.PublishedAsync<RoundAggregated>(1, m => m.FederationId == id);
        Assert.Equal(3, aggregated.Single().Used.Count);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (store.Count > 0 && DateTime.UtcNow < deadline)
            await Task.Yield();
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public async Task Should_run_federated_evaluation_and_report_the_example_weighted_loss()
    {
        await using var h = await FederationHarness.StartAsync();
        await h.HeartbeatAsync(Workers);
        var id = await h.StartFederationAsync(RunConfig.Default with { NumServerRounds = 1, MinEvaluateClients = 2 });

        var started = await h.PublishedAsync<RoundStarted>(3, m => m.FederationId == id);
        foreach (var s in started)
            await h.SubmitAsync(s, s.WorkerId, delta: 0f, numExamples: 10);

        var requests = await h.PublishedAsync<EvaluationRequested>(3, m => m.FederationId == id);
        Assert.Equal(Workers, requests.Select(r => r.WorkerId).Order());
        var mse = new Dictionary<string, (double Mse, int N)> { ["worker-1"] = (1.0, 10), ["worker-2"] = (2.0, 10), ["worker-3"] = (4.0, 20) };
        foreach (var r in requests)
            await h.ReportEvaluationAsync(r, mse[r.WorkerId].Mse, mse[r.WorkerId].N);

        var completed = (await h.PublishedAsync<RoundCompleted>(1, m => m.FederationId == id)).Single();
        // (10 x 1 + 10 x 2 + 20 x 4) / 40
        Assert.Equal(2.75, completed.EvalLoss!.Value, 10);
        Assert.Equal(Workers, completed.Evaluators.Order());
    }

    [Fact]
    public async Task Should_run_every_configured_round_in_order_then_complete()
    {
        await using var h = await FederationHarness.StartAsync();
        await h.HeartbeatAsync(Workers);
        var id = await h.StartFederationAsync(RunConfig.Default with { NumServerRounds = 3, MinEvaluateClients = 10 });

        for (var round = 1; round <= 3; round++)
        {
            var r = round;
            var started = await h.PublishedAsync<RoundStarted>(3, m => m.FederationId == id && m.Round == r);
            foreach (var s in started)
                await h.SubmitAsync(s, s.WorkerId, delta: 0.5f, numExamples: 10);
            await h.PublishedAsync<RoundCompleted>(1, m => m.FederationId == id && m.Round == r);
        }

        Assert.NotNull(await h.Federations.Exists(id, m => m.Completed));
        var saga = h.Federations.Sagas.Contains(id)!;
        Assert.Equal([1, 2, 3], saga.Rounds.Select(r => r.Round));
        Assert.Single(h.Harness.Published.Select<FederationCompleted>(m => m.Context.Message.FederationId == id));
    }
}
