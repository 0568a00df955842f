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
public sealed class SagaRepositoryReader(
    IQuerySagaRepository<FederationState> federationQuery,
    ILoadSagaRepository<FederationState> federations,
    ILoadSagaRepository<RoundState> rounds) : ISagaReader
{
    // Same settings as the Redis saga store: what it can store, this can copy.
    private static readonly JsonSerializerOptions SnapshotOptions = new(JsonSerializerDefaults.General);

    public async Task<FederationState?> FederationAsync(Guid federationId) => Snapshot(await federations.Load(federationId));

    public async Task<IReadOnlyList<FederationState>> FederationsAsync()
    {
        var ids = await federationQuery.Find(new SagaQuery<FederationState>(_ => true));
        var all = new List<FederationState>();
        foreach (var id in ids)
            if (Snapshot(await federations.Load(id)) is { } saga)
                all.Add(saga);
        return all;
    }

    public async Task<RoundState?> RoundAsync(Guid roundId) => Snapshot(await rounds.Load(roundId));

    /// <summary>
    /// The in-memory repository hands out the live instance, which a saga may be changing on another
    /// thread (a round summary being added): read a copy, taken again if a list changed under it.
    /// </summary>
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
