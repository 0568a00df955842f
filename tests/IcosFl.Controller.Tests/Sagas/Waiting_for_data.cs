using System.Diagnostics;
using IcosFl.Contracts;
using IcosFl.Controller.Sagas;
using IcosFl.Controller.Status;
using IcosFl.Learning;
using IcosFl.TestKit;

namespace IcosFl.Controller.Tests.Sagas;

/// <summary>
/// Issue 19 section 3: freshly started workers hold too few points; the federation waits for them (saying why), gives up
/// after quorum-timeout naming what was missing, and retries a declined round after round-retry-delay, not at once.
/// </summary>
public sealed class Waiting_for_data
{
    private static readonly RunConfig Config = RunConfig.Default with { NumServerRounds = 1, MinAvailableClients = 2, MinFitClients = 2 };
    private static readonly int Needed = SeriesChecks.PointsNeeded(Config);

    private static Dictionary<string, int> Cpu(int points) => new() { [Metrics.CpuUsage] = points };

    [Fact]
    public async Task Should_wait_for_workers_holding_enough_points_say_why_and_open_the_round_with_the_ready_ones_only()
    {
        await using var h = await FederationHarness.StartAsync();
        var t0 = DateTimeOffset.UtcNow;
        await h.HeartbeatAsync("w1", Cpu(5), t0);
        await h.HeartbeatAsync("w2", Cpu(Needed), t0);
        await h.HeartbeatAsync("w3", Cpu(7), t0);
        var id = await h.StartFederationAsync(Config);

        var waiting = await WaitingAsync(h, id, w => w.Contains("w1 has 5"));
        Assert.Equal(151, Needed); // time-step 10 and train-test-split 0.8 need 51, plus forecast-horizon 100: the worker's own rule
        Assert.StartsWith("waiting for 2 workers with >= 151 cpu_usage points: 1 of 3 alive ready (w2); w1 has 5 (", waiting);
        Assert.Contains("w3 has 7 (growth not measured yet", waiting);
        Assert.False(await h.Harness.Published.Any<RoundStarted>(m => m.Context.Message.FederationId == id,
            new CancellationTokenSource(TimeSpan.FromMilliseconds(500)).Token));

        // w1 gains a point every 3 s: 140 more points take 7 minutes.
        await h.HeartbeatAsync("w1", Cpu(11), t0.AddSeconds(18));
        waiting = await WaitingAsync(h, id, w => w.Contains("w1 has 11"));
        Assert.Contains("w1 has 11 (ready in ~7 min at one point every 3 s)", waiting);

        // What icosfl status and the HTTP API show.
        var status = FederationStatusReader.Build(h.Federations.Sagas.Contains(id)!, null, []);
        Assert.Equal(("Running", "WaitingForQuorum"), (status.State, status.Phase));
        Assert.Contains("w1 has 11 (ready in ~7 min", status.Waiting);
        Assert.Contains(h.Log.Entries, e => e.Message.Contains("waits for quorum") && e.Message.Contains("w1 has 5"));

        await h.HeartbeatAsync("w1", Cpu(Needed), t0.AddSeconds(20));
        var started = await h.PublishedAsync<RoundStarted>(2, m => m.FederationId == id);
        Assert.Equal(["w1", "w2"], started.Select(s => s.WorkerId).Order());
        Assert.False(await h.Harness.Published.Any<RoundStarted>(m => m.Context.Message.FederationId == id && m.Context.Message.WorkerId == "w3",
            new CancellationTokenSource(TimeSpan.FromMilliseconds(300)).Token));
        Assert.Null(FederationStatusReader.Build(h.Federations.Sagas.Contains(id)!, null, []).Waiting);
    }

    [Fact]
    public async Task Should_count_a_worker_ready_only_when_it_holds_enough_points_of_every_input_metric()
    {
        await using var h = await FederationHarness.StartAsync();
        var config = Config with { InputMetrics = Metrics.MemoryUsage };
        var t0 = DateTimeOffset.UtcNow;
        await h.HeartbeatAsync("w1", new Dictionary<string, int> { [Metrics.CpuUsage] = 600, [Metrics.MemoryUsage] = 600 }, t0);
        await h.HeartbeatAsync("w2", new Dictionary<string, int> { [Metrics.CpuUsage] = 600, [Metrics.MemoryUsage] = 20 }, t0);
        var id = await h.StartFederationAsync(config);

        var waiting = await WaitingAsync(h, id, w => w.Contains("w2 has"));
        Assert.StartsWith($"waiting for 2 workers with >= {Needed} points of each of cpu_usage, memory_usage: 1 of 2 alive ready (w1); " +
                          "w2 has 600 cpu_usage, 20 memory_usage (", waiting);

        await h.HeartbeatAsync("w2", new Dictionary<string, int> { [Metrics.CpuUsage] = 600, [Metrics.MemoryUsage] = 600 }, t0.AddSeconds(1));
        await h.PublishedAsync<RoundStarted>(2, m => m.FederationId == id);
    }

    [Fact]
    public async Task Should_fail_the_federation_after_quorum_timeout_naming_the_workers_the_metric_and_the_points_held_and_needed()
    {
        await using var h = await FederationHarness.StartAsync();
        var t0 = DateTimeOffset.UtcNow;
        await h.HeartbeatAsync("w1", Cpu(5), t0);
        await h.HeartbeatAsync("w2", Cpu(9), t0);
        var watch = Stopwatch.StartNew();
        var id = await h.StartFederationAsync(Config with { QuorumTimeout = 1 });

        var failed = (await h.PublishedAsync<FederationFailed>(1, m => m.FederationId == id)).Single();
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(1), $"failed after {watch.Elapsed}, before quorum-timeout 1 s");
        Assert.StartsWith("no quorum for round 1 within quorum-timeout 1 s: waiting for 2 workers with >= 151 cpu_usage points: 0 of 2 alive ready; " +
                          "w1 has 5 (", failed.Reason);
        Assert.Contains("; w2 has 9 (", failed.Reason);
        Assert.NotNull(await h.Federations.Exists(id, m => m.Failed));
        var saga = h.Federations.Sagas.Contains(id)!;
        Assert.Equal(failed.Reason, saga.Reason);
        Assert.Null(saga.Waiting);
        Assert.False(await h.Harness.Published.Any<RoundStarted>(m => m.Context.Message.FederationId == id,
            new CancellationTokenSource(TimeSpan.FromMilliseconds(200)).Token));
    }

    [Fact]
    public async Task Should_wait_without_limit_when_quorum_timeout_is_0()
    {
        await using var h = await FederationHarness.StartAsync();
        await h.HeartbeatAsync("w1", Cpu(5), DateTimeOffset.UtcNow);
        var id = await h.StartFederationAsync(Config with { QuorumTimeout = 0 });

        await WaitingAsync(h, id, w => w.Contains("w1 has 5"));
        Assert.False(await h.Harness.Published.Any<FederationFailed>(m => m.Context.Message.FederationId == id,
            new CancellationTokenSource(TimeSpan.FromSeconds(1.5)).Token));
        Assert.NotNull(await h.Federations.Exists(id, m => m.WaitingForQuorum));
    }

    [Fact]
    public async Task Should_retry_a_declined_round_after_round_retry_delay_doubling_per_retry_not_at_once()
    {
        await using var h = await FederationHarness.StartAsync();
        await h.HeartbeatAsync("w1", "w2");
        var id = await h.StartFederationAsync(Config with { RoundRetries = 2, RoundRetryDelay = 1 });

        // The harness's own waits end at its first quiet second (and stay ended), and a retry's delay is quiet by design:
        // what was published is looked at every 50 ms instead.
        var gaps = new List<TimeSpan>();
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var started = (await PublishedByNowAsync<RoundStarted>(h, 2 * attempt, m => m.FederationId == id)).Skip(2 * (attempt - 1)).ToList();
            Assert.Single(started.Select(s => s.RoundId).Distinct());
            foreach (var s in started)
                await h.Harness.Bus.Publish(new TrainingDeclined
                {
                    FederationId = id, RoundId = s.RoundId, Round = s.Round, WorkerId = s.WorkerId,
                    Reason = "this node holds 40 cpu_usage points; 151 are needed",
                });
            var failed = (await PublishedByNowAsync<RoundFailed>(h, attempt, m => m.FederationId == id))[^1];
            var watch = Stopwatch.StartNew();
            Assert.Contains("this node holds 40 cpu_usage points", failed.Reason);
            if (attempt == 3)
                break;
            var waiting = await WaitingAsync(h, id, w => w.StartsWith($"retrying round 1 (attempt {attempt + 1} of 3)", StringComparison.Ordinal));
            Assert.Contains($"{1 << (attempt - 1)} s after attempt {attempt} failed (round-retry-delay 1 s, doubled per retry): ", waiting);
            await PublishedByNowAsync<RoundStarted>(h, 2 * (attempt + 1), m => m.FederationId == id);
            gaps.Add(watch.Elapsed);
        }

        // Retried after 1 s, then 2 s: not at once.
        Assert.True(gaps[0] >= TimeSpan.FromSeconds(0.9), $"first retry after {gaps[0]}");
        Assert.True(gaps[1] >= TimeSpan.FromSeconds(1.9), $"second retry after {gaps[1]}");
        var federationFailed = (await PublishedByNowAsync<FederationFailed>(h, 1, m => m.FederationId == id)).Single();
        Assert.Contains("round 1 failed 3 times (round-retries=2)", federationFailed.Reason);
    }

    /// <summary>The first <paramref name="count"/> published messages that match, looked for every 50 ms for 20 s at most.</summary>
    private static async Task<List<T>> PublishedByNowAsync<T>(FederationHarness h, int count, Func<T, bool> match) where T : class
    {
        var found = await Eventually.UntilAsync(() =>
            {
                using var look = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
                return h.Harness.Published.Select<T>(m => match(m.Context.Message), look.Token).Select(m => m.Context.Message).ToList();
            }, f => f.Count >= count, TimeSpan.FromSeconds(20), $"{count} published {typeof(T).Name}",
            describe: f => $"{f?.Count ?? 0} of them");
        return found.Take(count).ToList();
    }

    /// <summary>The federation's reason for waiting, once it matches (the saga is looked at every 50 ms, for 10 s at most).</summary>
    private static async Task<string> WaitingAsync(FederationHarness h, Guid id, Func<string, bool> match) =>
        (await Eventually.UntilAsync(() => h.Federations.Sagas.Contains(id)?.Waiting, w => w is not null && match(w),
            TimeSpan.FromSeconds(10), "the federation's waiting reason matching", describe: w => w ?? "(none)"))!;
}
