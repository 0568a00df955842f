using IcosFl.Controller;
using IcosFl.Controller.Sagas;
using IcosFl.Controller.Status;
using MassTransit;
using MassTransit.Saga;
using Microsoft.Extensions.DependencyInjection;

namespace IcosFl.Dashboard.Tests;

/// <summary>
/// The embedded mode's dashboard reads the very saga instances the state machines change. A copy taken while an
/// event is half applied used to show a round both recorded and still in progress, so the live stream counted
/// two completed rounds after the first and one again after (CI, Following_a_federation_live). The reader now
/// copies a saga between events only.
/// </summary>
public sealed class Reading_sagas_held_in_memory : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly ISagaReader _reader;
    private readonly IndexedSagaDictionary<FederationState> _federations;

    public Reading_sagas_held_in_memory()
    {
        // As the embedded simulation registers them; the reader is the one the dashboard registration chooses.
        var services = new ServiceCollection();
        services.AddMassTransit(x =>
        {
            x.SetInMemorySagaRepositoryProvider();
            x.AddIcosFlController();
            x.UsingInMemory();
        });
        services.AddIcosFlDashboard(new DashboardOptions { Listen = new Uri("http://127.0.0.1:0") });
        _provider = services.BuildServiceProvider();
        _reader = _provider.GetRequiredService<ISagaReader>();
        _federations = _provider.GetRequiredService<IndexedSagaDictionary<FederationState>>();
    }

    public ValueTask DisposeAsync() => _provider.DisposeAsync();

    /// <summary>A reader built as the registration builds it, with its own lock wait.</summary>
    private SagaRepositoryReader ReaderWaiting(TimeSpan lockWait) =>
        ActivatorUtilities.CreateInstance<SagaRepositoryReader>(_provider, lockWait);

    [Fact]
    public async Task Should_wait_for_an_event_being_applied_instead_of_copying_it_half_done()
    {
        var roundId = Guid.NewGuid();
        var saga = new FederationState { CorrelationId = Guid.NewGuid(), CurrentState = "Running", Round = 1, CurrentRoundId = roundId };
        var instance = new SagaInstance<FederationState>(saga);
        _federations.Add(instance);

        // An event half applied, holding the instance as MassTransit does while it consumes: the round is recorded,
        // the round in progress not yet cleared.
        // A lock wait far beyond this test's pauses: a stalled machine must not reach the fallback copy.
        var reader = ReaderWaiting(TimeSpan.FromMinutes(2));
        await instance.MarkInUse(CancellationToken.None);
        saga.Rounds.Add(new RoundSummary(1, roundId, 1, "Completed", ["w1"], 0.5, 0.4, null, 120, null, []));
        var read = reader.FederationAsync(saga.CorrelationId);
        await Task.Delay(300);
        Assert.False(read.IsCompleted, "the reader copied a saga while an event was being applied to it");

        saga.CurrentRoundId = null;
        saga.Round = 2;
        instance.Release();
        var copy = await read.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.NotNull(copy);
        Assert.NotSame(saga, copy);
        Assert.Null(copy.CurrentRoundId);
        Assert.Equal(2, copy.Round);
        var status = FederationStatusReader.Build(copy, null, []);
        Assert.Single(status.Rounds, r => r.State == "Completed");
    }

    [Fact]
    public async Task Should_copy_a_saga_between_events_at_once_and_find_no_saga_for_an_unknown_id()
    {
        var saga = new FederationState { CorrelationId = Guid.NewGuid(), CurrentState = "WaitingForQuorum", Round = 1 };
        _federations.Add(new SagaInstance<FederationState>(saga));

        // With a two-minute lock wait, a read that waited for anything would time out here: an idle saga is copied at once.
        var copy = await ReaderWaiting(TimeSpan.FromMinutes(2))
            .FederationAsync(saga.CorrelationId).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("WaitingForQuorum", copy?.CurrentState);
        Assert.IsType<SagaRepositoryReader>(_reader);
        Assert.Equal([saga.CorrelationId], (await _reader.FederationsAsync()).Select(f => f.CorrelationId));
        Assert.Null(await _reader.FederationAsync(Guid.NewGuid()));
        Assert.Null(await _reader.RoundAsync(Guid.NewGuid()));
    }

    [Fact]
    public async Task Should_copy_a_saga_held_longer_than_the_lock_wait_as_it_is_rather_than_hang_the_dashboard()
    {
        var saga = new FederationState { CorrelationId = Guid.NewGuid(), CurrentState = "Running", Round = 3 };
        var instance = new SagaInstance<FederationState>(saga);
        _federations.Add(instance);
        var reader = ReaderWaiting(TimeSpan.FromMilliseconds(300));

        await instance.MarkInUse(CancellationToken.None);
        try
        {
            var copy = await reader.FederationAsync(saga.CorrelationId).WaitAsync(TimeSpan.FromSeconds(4));
            Assert.Equal(3, copy?.Round);
        }
        finally
        {
            instance.Release();
        }
        // The reader neither kept the lock nor released one it never had: the saga's next event gets it at once, and
        // it is still exclusive (a stray Release would have let a second holder in).
        await instance.MarkInUse(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            instance.MarkInUse(new CancellationTokenSource(TimeSpan.FromMilliseconds(200)).Token));
        instance.Release();
    }
}
