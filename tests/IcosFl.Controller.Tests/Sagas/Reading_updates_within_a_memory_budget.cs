using IcosFl.Contracts;
using IcosFl.Controller.Messages;
using IcosFl.Controller.Rounds;
using IcosFl.Infrastructure.Weights;

namespace IcosFl.Controller.Tests.Sagas;

/// <summary>
/// The aggregator reads claim-checked updates several at a time, but only as many as
/// ControllerOptions.AggregationReadBudgetBytes of encoded payloads allow: each read holds its encoded copy
/// beside the decoded models, so eight 200 MB reads at once would hold 1.6 GB more than two do.
/// </summary>
public sealed class Reading_updates_within_a_memory_budget
{
    private static readonly string[] Workers = ["worker-1", "worker-2", "worker-3", "worker-4"];
    private static readonly WeightTransportOptions ClaimChecked = new() { InlineThresholdBytes = 0, ClaimCheckTimeToLive = TimeSpan.FromHours(1) };

    [Theory]
    [InlineData(10_000_000L, 8)]
    [InlineData(200_000_000L, 2)]
    [InlineData(600_000_000L, 1)]
    public void Reads_in_flight_follow_the_largest_claim_checked_payload(long payloadBytes, int expected)
    {
        UpdateRecord[] updates = [Update("a", payloadBytes, claimChecked: true), Update("b", 1000, claimChecked: true)];
        Assert.Equal(expected, AggregateRoundConsumer.ReadsInFlight(updates, new ControllerOptions().AggregationReadBudgetBytes));
    }

    [Fact]
    public void Inline_updates_do_not_count_against_the_budget()
    {
        UpdateRecord[] updates = [Update("a", 900_000_000, claimChecked: false), Update("b", 1000, claimChecked: true)];
        Assert.Equal(8, AggregateRoundConsumer.ReadsInFlight(updates, budgetBytes: 512L * 1024 * 1024));
        Assert.Equal(8, AggregateRoundConsumer.ReadsInFlight([], budgetBytes: 1));
    }

    [Fact]
    public async Task A_budget_below_one_payload_reads_the_updates_one_at_a_time()
    {
        var store = new SlowFetchStore();
        await using var h = await FederationHarness.StartAsync(
            new ControllerOptions
            {
                QuorumPollInterval = TimeSpan.FromMilliseconds(100),
                LivenessCheckInterval = TimeSpan.FromMilliseconds(200),
                AggregationReadBudgetBytes = 1,
            },
            ClaimChecked, store: store);

        await AggregateOneRoundAsync(h);

        Assert.Equal(1, store.MostAtOnce);
    }

    [Fact]
    public async Task Within_the_budget_the_updates_are_read_side_by_side()
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

    private static UpdateRecord Update(string worker, long length, bool claimChecked) => new(worker, 10, new TrainMetrics(0.1, 1, 0),
        claimChecked
            ? new WeightsPayload { ClaimCheckKey = $"icosfl:weights:{worker}", Length = length, Checksum = "0000000000000000" }
            : new WeightsPayload { Inline = [1, 2, 3], Length = length, Checksum = "0000000000000000" });

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
