using System.Text.Json;
using IcosFl.Contracts;
using IcosFl.Controller.Rounds;
using IcosFl.Controller.Sagas;
using IcosFl.Controller.Status;
using IcosFl.Controller.Workers;
using Microsoft.Extensions.DependencyInjection;

namespace IcosFl.Controller.Tests.Sagas;

/// <summary>A collecting round's answers are in its ledger, not yet on its saga: status shows them from the ledger.</summary>
public sealed class Showing_a_collecting_round
{
    [Fact]
    public async Task Should_show_the_workers_that_answered_so_far()
    {
        await using var h = await FederationHarness.StartAsync();
        await h.HeartbeatAsync("worker-1", "worker-2", "worker-3");
        var id = await h.StartFederationAsync(RunConfig.Default with { NumServerRounds = 1, MinFitClients = 3, MinEvaluateClients = 10 });
        var started = await h.PublishedAsync<RoundStarted>(3, m => m.FederationId == id);
        var first = started.Single(s => s.WorkerId == "worker-2");
        await h.SubmitAsync(first, "worker-2", delta: 1f, numExamples: 10);
        await h.Harness.Bus.Publish(new TrainingDeclined
        {
            FederationId = id, RoundId = first.RoundId, Round = 1, WorkerId = "worker-3", Reason = "no data",
        });
        Assert.True(await h.Harness.Consumed.Any<TrainingDeclined>(m => m.Context.Message.WorkerId == "worker-3"));
        Assert.True(await h.Harness.Consumed.Any<WeightUpdateSubmitted>(m => m.Context.Message.WorkerId == "worker-2"));

        var reader = new FederationStatusReader(new HarnessSagas(h), h.Services.GetRequiredService<IWorkerRegistry>(), new ControllerOptions(),
            TimeProvider.System, h.Services.GetRequiredService<IRoundLedger>());
        var status = (await reader.GetAsync(id))!;

        var round = Assert.Single(status.Rounds);
        Assert.Equal("Collecting", round.State);
        Assert.Equal(["worker-2"], round.Participants);
        Assert.Equal([new RejectedUpdate("worker-3", "declined: no data")], round.Rejected);
        // The saga itself holds none of it until collecting ends.
        Assert.Empty(h.Rounds.Sagas.Contains(first.RoundId)!.Updates);
    }

    /// <summary>Copies of the harness's live saga instances, as the dashboard's reader takes them.</summary>
    private sealed class HarnessSagas(FederationHarness h) : ISagaReader
    {
        public Task<FederationState?> FederationAsync(Guid federationId) => Task.FromResult(Copy(h.Federations.Sagas.Contains(federationId)));

        public Task<IReadOnlyList<FederationState>> FederationsAsync() => throw new NotSupportedException("not needed by this test");

        public Task<RoundState?> RoundAsync(Guid roundId) => Task.FromResult(Copy(h.Rounds.Sagas.Contains(roundId)));

        private static T? Copy<T>(T? live) where T : class =>
            live is null ? null : JsonSerializer.Deserialize<T>(JsonSerializer.SerializeToUtf8Bytes(live));
    }
}
