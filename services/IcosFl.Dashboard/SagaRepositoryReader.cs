using System.Text.Json;
using IcosFl.Controller.Sagas;
using IcosFl.Controller.Status;
using MassTransit;
using MassTransit.Saga;

namespace IcosFl.Dashboard;

/// <summary>
/// Reads the sagas through MassTransit's own repository interfaces (<see cref="IQuerySagaRepository{TSaga}"/>,
/// <see cref="ILoadSagaRepository{TSaga}"/>), which the in-memory repository of the embedded mode
/// implements: the dashboard shows the very state the state machines act on, as the Redis reader does
/// when deployed, rather than a second model rebuilt from events.
/// </summary>
/// <remarks>
/// The in-memory repository hands out the live instance, which a state machine may be changing on another thread.
/// A copy taken half way through an event is torn: a round already in <see cref="FederationState.Rounds"/> while
/// <see cref="FederationState.CurrentRoundId"/> still names it, so the dashboard counted it twice. With the
/// repository's <see cref="IndexedSagaDictionary{TSaga}"/> (registered by SetInMemorySagaRepositoryProvider) the
/// copy is taken holding the instance's lock, the one MassTransit holds while a message is consumed, so it sees
/// the saga between events only.
/// </remarks>
public sealed class SagaRepositoryReader(
    IQuerySagaRepository<FederationState> federationQuery,
    ILoadSagaRepository<FederationState> federations,
    ILoadSagaRepository<RoundState> rounds,
    IndexedSagaDictionary<FederationState>? federationInstances = null,
    IndexedSagaDictionary<RoundState>? roundInstances = null,
    TimeSpan? lockWait = null) : ISagaReader
{
    /// <summary>How long a read waits, by default, for a saga busy with an event before it copies it as it is.</summary>
    public static readonly TimeSpan DefaultLockWait = TimeSpan.FromSeconds(5);

    private readonly TimeSpan _lockWait = lockWait ?? DefaultLockWait;

    // Same settings as the Redis saga store: what it can store, this can copy.
    private static readonly JsonSerializerOptions SnapshotOptions = new(JsonSerializerDefaults.General);

    public Task<FederationState?> FederationAsync(Guid federationId) => ReadAsync(federationInstances, federations, federationId);

    public async Task<IReadOnlyList<FederationState>> FederationsAsync()
    {
        var ids = await federationQuery.Find(new SagaQuery<FederationState>(_ => true));
        var all = new List<FederationState>();
        foreach (var id in ids)
            if (await FederationAsync(id) is { } saga)
                all.Add(saga);
        return all;
    }

    public Task<RoundState?> RoundAsync(Guid roundId) => ReadAsync(roundInstances, rounds, roundId);

    private async Task<T?> ReadAsync<T>(IndexedSagaDictionary<T>? instances, ILoadSagaRepository<T> repository, Guid id)
        where T : class, ISaga
    {
        if (instances is null)
            return Snapshot(await repository.Load(id));
        if (instances[id] is not { } instance)
            return null;
        using var wait = new CancellationTokenSource(_lockWait);
        try
        {
            await instance.MarkInUse(wait.Token);
        }
        catch (OperationCanceledException)
        {
            // An event has held it for seconds (a stuck publish): show what is there rather than nothing.
            return instance.IsRemoved ? null : Snapshot(instance.Instance);
        }
        catch (InvalidOperationException) when (instance.IsRemoved)
        {
            // Removed between the lookup and the lock (MassTransit refuses to lock a removed instance).
            return null;
        }
        try
        {
            return instance.IsRemoved ? null : Snapshot(instance.Instance);
        }
        finally
        {
            instance.Release();
        }
    }

    /// <summary>A copy, taken again if a list changed under it (possible only without the instance's lock).</summary>
    private static T? Snapshot<T>(T? live) where T : class
    {
        if (live is null)
            return null;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return JsonSerializer.Deserialize<T>(JsonSerializer.SerializeToUtf8Bytes(live, SnapshotOptions), SnapshotOptions);
            }
            catch (InvalidOperationException) when (attempt < 5)
            {
                // "Collection was modified": the saga moved on while it was read; the next copy is consistent.
            }
        }
    }
}
