using IcosFl.Contracts;
using IcosFl.Controller.Messages;
using IcosFl.Controller.Rounds;
using IcosFl.Infrastructure.Weights;

namespace IcosFl.Controller.Tests.Sagas;

/// <summary>
/// The aggregator reads a round's claim-checked updates several at a time (each read decodes its chunks as they
/// land, so it holds little beside the model it decodes), not one after another.
/// </summary>
public sealed class Reading_updates_side_by_side
{
    private static readonly string[] Workers = ["worker-1", "worker-2", "worker-3", "worker-4"];
    private static readonly WeightTransportOptions ClaimChecked = new() { InlineThresholdBytes = 0, ClaimCheckTimeToLive = TimeSpan.FromHours(1) };

    [Fact]
    public async Task The_updates_of_a_round_are_read_side_by_side()
    {
        var store = new SlowFetchStore();
        await using var h = await FederationHarness.StartAsync(
            new ControllerOptions { QuorumPollInterval = TimeSpan.FromMilliseconds(100), LivenessCheckInterval = TimeSpan.FromMilliseconds(200) },
            ClaimChecked, store: store);

        await AggregateOneRoundAsync(h);

        Assert.Equal(Workers.Length, store.MostAtOnce);
    }

    private static async Task AggregateOneRoundAsync(FederationHarness h)
    {
        await h.HeartbeatAsync(Workers);
        var id = await h.StartFederationAsync(RunConfig.Default with { NumServerRounds = 1, MinFitClients = 4, MinAvailableClients = 4, MinEvaluateClients = 10 });
        var started = await h.PublishedAsync<RoundStarted>(Workers.Length, m => m.FederationId == id);
        foreach (var s in started)
            await h.SubmitAsync(s, s.WorkerId, delta: 1f, numExamples: 10);
        var aggregated = (await h.PublishedAsync<RoundAggregated>(1, m => m.FederationId == id)).Single();
        Assert.Equal(Workers.Length, aggregated.Used.Count);
    }

    /// <summary>An in-memory store whose fetches take 100 ms, counting how many were in progress at once.</summary>
    private sealed class SlowFetchStore : IClaimCheckStore
    {
        private readonly InMemoryClaimCheckStore _inner = new();
        private int _inProgress;
        private int _mostAtOnce;

        public int MostAtOnce => Volatile.Read(ref _mostAtOnce);

        public async Task<long?> StreamAsync(string key, Action<ReadOnlySpan<byte>> arrived, CancellationToken cancellationToken = default)
        {
            var now = Interlocked.Increment(ref _inProgress);
            int seen;
            while (now > (seen = Volatile.Read(ref _mostAtOnce)) && Interlocked.CompareExchange(ref _mostAtOnce, now, seen) != seen)
            {
            }

            try
            {
                await Task.Delay(100, cancellationToken);
                return await ((IClaimCheckStore)_inner).StreamAsync(key, arrived, cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _inProgress);
            }
        }

        public Task PutAsync(string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, CancellationToken cancellationToken = default) =>
            _inner.PutAsync(key, payload, timeToLive, cancellationToken);

        public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default) => _inner.GetAsync(key, cancellationToken);

        public Task DeleteAsync(string key, CancellationToken cancellationToken = default) => _inner.DeleteAsync(key, cancellationToken);

        public Task<bool> ContainsAsync(string key, CancellationToken cancellationToken = default) =>
            ((IClaimCheckStore)_inner).ContainsAsync(key, cancellationToken);
    }
}
