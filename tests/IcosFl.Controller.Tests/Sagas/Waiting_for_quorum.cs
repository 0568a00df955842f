using IcosFl.Contracts;

namespace IcosFl.Controller.Tests.Sagas;

public sealed class Waiting_for_quorum
{
    [Fact]
    public async Task Should_not_start_a_round_until_min_available_clients_are_alive()
    {
        await using var h = await FederationHarness.StartAsync();
        await h.HeartbeatAsync("worker-1");
        var id = await h.StartFederationAsync(RunConfig.Default with { NumServerRounds = 1, MinAvailableClients = 2, MinFitClients = 2 });

        Assert.NotNull(await h.Federations.Exists(id, m => m.WaitingForQuorum));
        // Several quorum checks pass (100 ms apart) without a round.
        Assert.True(await h.Harness.Consumed.Any<Messages.QuorumCheckDue>(m => m.Context.Message.FederationId == id));
        Assert.False(await h.Harness.Published.Any<RoundStarted>(m => m.Context.Message.FederationId == id, new CancellationTokenSource(TimeSpan.FromMilliseconds(500)).Token));

        await h.HeartbeatAsync("worker-2");
        var started = await h.PublishedAsync<RoundStarted>(2, m => m.FederationId == id);
        Assert.Equal(["worker-1", "worker-2"], started.Select(s => s.WorkerId).Order());
        Assert.NotNull(await h.Federations.Exists(id, m => m.Running));
    }

    [Fact]
    public async Task Should_sample_max_of_min_fit_clients_and_fraction_fit_of_alive_workers()
    {
        await using var h = await FederationHarness.StartAsync();
        var workers = Enumerable.Range(1, 10).Select(i => $"worker-{i:00}").ToArray();
        await h.HeartbeatAsync(workers);
        // fraction-fit 0.3 of 10 alive = 3 < min-fit-clients 4: four are sampled.
        var id = await h.StartFederationAsync(RunConfig.Default with { NumServerRounds = 1, FractionFit = 0.3, MinFitClients = 4 });

        var started = await h.PublishedAsync<RoundStarted>(4, m => m.FederationId == id);
        var selected = started.Select(s => s.WorkerId).ToList();
        Assert.Equal(4, selected.Distinct().Count());
        Assert.All(selected, w => Assert.Contains(w, workers));
        Assert.False(await h.Harness.Published.Any<RoundStarted>(
            m => m.Context.Message.FederationId == id && !selected.Contains(m.Context.Message.WorkerId),
            new CancellationTokenSource(TimeSpan.FromMilliseconds(300)).Token));
    }
}
