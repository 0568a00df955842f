using System.Collections.Concurrent;
using System.Diagnostics;
using IcosFl.Contracts;
using IcosFl.Controller;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Learning.NodeData;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using StackExchange.Redis;

namespace IcosFl.Benchmarks;

/// <summary>
/// What a round costs beyond training: the deployed controller (federation and round sagas in Redis,
/// the aggregator, the Redis scheduler) over RabbitMQ, with N workers whose trainer is a no-op (they
/// answer RoundStarted with the global weights at once, and EvaluationRequested likewise). Since the
/// slowest training takes 0 ms, the round's own duration (RoundCompleted.DurationMs: opened to
/// completed, train and evaluate phases) is its overhead. Baseline: the same two fan-out/fan-in
/// exchanges of N messages done with RabbitMQ.Client alone.
/// </summary>
public static class OverheadSuite
{
    private const double TargetMs = 200;
    private const int WarmUpRounds = 5;
    private const int MaxWarmUpFederations = 24;
    // A worker's default heartbeat interval (WorkerOptions.HeartbeatInterval).
    private static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(10);

    /// <summary>The fleet sizes measured without --workers.</summary>
    public static int[] DefaultFleetSizes { get; } = [1, 10, 50, 100];

    /// <summary>The most stand-in workers one benchmark process hosts (each is a binding and heartbeats from here).</summary>
    public const int MaxFleetSize = 5000;

    // Warm-up federations run at this size at most: the JIT settles on the same code at any size, and at 2,000
    // workers the up to 24 warm-up federations would take minutes.
    private const int MaxWarmUpFleet = 100;

    /// <summary>"100,500,1000" as ascending fleet sizes, or null with the problem named.</summary>
    public static int[]? ParseFleetSizes(string text, out string? problem)
    {
        var sizes = new List<int>();
        foreach (var part in text.Split(','))
        {
            if (!int.TryParse(part.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)
                || n < 1 || n > MaxFleetSize)
            {
                problem = $"'{part}' is not a fleet size from 1 to {MaxFleetSize}";
                return null;
            }

            if (sizes.Count > 0 && n <= sizes[^1])
            {
                problem = $"the fleet sizes must rise ({n} after {sizes[^1]})";
                return null;
            }

            sizes.Add(n);
        }

        problem = null;
        return [.. sizes];
    }

    public static async Task<SuiteResult> RunAsync(BenchServers servers, bool quick, int[] fleetSizes)
    {
        int warmUpFleet = Math.Min(fleetSizes[^1], MaxWarmUpFleet);
        var allSizes = fleetSizes.Append(warmUpFleet).Distinct().ToArray();
        var rounds = quick ? 4 : 11; // the first round is a warm-up and not counted
        var run = Guid.NewGuid().ToString("N")[..6];
        var ids = allSizes.ToDictionary(n => n, n => Enumerable.Range(1, n).Select(i => $"bench-{run}-{n}-{i}").ToArray());
        using var redis = await ConnectionMultiplexer.ConnectAsync(servers.Redis);
        var observed = new Observations();

        using var controller = await StartControllerAsync(servers, redis);
        using var fleet = await StartFleetAsync(servers, ids.Values.SelectMany(x => x).ToArray(), observed);
        var bus = fleet.Bus;
        await using var raw = await RawFanOut.OpenAsync(servers.Broker);
        using var profile = ActivityProfile.StartIfAsked();

        async Task<(Outcome Outcome, TimeSpan Wall)> RunFederationAsync(int n, int rounds)
        {
            using var heartbeats = new CancellationTokenSource();
            var beating = BeatAsync(bus, ids[n], heartbeats.Token);
            var federation = Guid.NewGuid();
            var done = observed.Expect(federation);
            var wall = Stopwatch.StartNew();
            await bus.Publish(new StartFederation
            {
                FederationId = federation,
                RequestedBy = "benchmark",
                RunConfigText = $"num-server-rounds={rounds} min-fit-clients={n} min-available-clients={n} min-evaluate-clients={n} "
                    + "fraction-fit=1 fraction-evaluate=1 round-timeout=60",
            });
            var outcome = await done.WaitAsync(TimeSpan.FromMinutes(5));
            wall.Stop();
            await heartbeats.CancelAsync();
            await beating;
            // Goodbyes, so the next federation does not wait for or select these workers.
            foreach (var id in ids[n])
                await bus.Publish(new WorkerStopping { WorkerId = id, Timestamp = DateTimeOffset.UtcNow });
            if (outcome.Failure is { } failure)
                throw new InvalidOperationException($"overhead: the federation of {n} workers failed: {failure}");
            return (outcome, wall.Elapsed);
        }

        // Unmeasured federations at the largest size first, until the JIT has settled. A controller runs for hours, and
        // .NET compiles the hot paths in tiers (unoptimised, then instrumented, then optimised) over their first calls,
        // in the background and postponed while new methods keep being compiled: the MassTransit pipeline is tens of
        // thousands of small methods, and a 5-round federation of 100 workers spends about 1 s of its 2 s in the JIT
        // for the first ten or so. Measured before then, the figures are the JIT's, not the round's.
        // The first warm-up is what a controller that has just started does: reported as the cold start.
        List<double>? coldRounds = null;
        var warmUps = await JitClock.WarmUpUntilSettledAsync("overhead", MaxWarmUpFederations, async () =>
        {
            var (warmUp, _) = await RunFederationAsync(warmUpFleet, WarmUpRounds);
            coldRounds ??= warmUp.Rounds.Select(r => r.DurationMs).ToList();
            // The baseline's code too, or its tiering lands in the measured federations.
            foreach (var n in fleetSizes)
                await Measure.RepeatAsync(3, () => raw.TwoPhasesAsync(n));
        });
        profile?.Reset();

        var rows = new List<IReadOnlyDictionary<string, object>>();
        double lastOverhead = 0, lastBaseline = 0;
        var process = Process.GetCurrentProcess();
        foreach (var n in fleetSizes)
        {
            var jit = JitClock.Start();
            process.Refresh();
            var cpuBefore = process.TotalProcessorTime;
            using var memory = PeakMemory.Sample(process);
            var (outcome, wall) = await RunFederationAsync(n, rounds);
            var jitTime = jit.Elapsed;
            process.Refresh();
            var cpuPerRound = (process.TotalProcessorTime - cpuBefore).TotalMilliseconds / rounds;
            var peakMiB = await memory.StopAsync();
            profile?.Report($"{n} workers", rounds);
            var counted = outcome.Rounds.Where(r => r.Round > 1).ToList();
            if (counted.Any(r => r.Participants.Count != n))
                throw new InvalidOperationException($"overhead: a round of {n} workers aggregated {string.Join(",", counted.Select(r => r.Participants.Count))} updates");
            var overhead = Measure.Median(counted.Select(r => r.DurationMs).ToList());
            var baselineTimes = await Measure.RepeatAsync(quick ? 5 : 11, () => raw.TwoPhasesAsync(n));
            var baseline = Measure.Median(baselineTimes);
            rows.Add(new Dictionary<string, object>
            {
                ["workers"] = n,
                ["rounds_measured"] = counted.Count,
                ["round_median_ms"] = overhead,
                ["round_max_ms"] = counted.Max(r => r.DurationMs),
                ["slowest_training_ms"] = 0.0,
                ["overhead_ms"] = overhead,
                ["raw_fanout_ms"] = baseline,
                ["overhead_vs_raw"] = overhead / baseline,
                ["federation_wall_s"] = wall.TotalSeconds,
                ["jit_ms_per_round"] = jitTime.TotalMilliseconds / rounds,
                ["warmup_federations"] = warmUps,
                // The whole benchmark process: the controller and the stand-in fleet (with its heartbeats) together.
                ["process_cpu_ms_per_round"] = cpuPerRound,
                ["process_peak_working_set_mib"] = peakMiB,
                // At the largest size only: the median round of the first federation after start-up (JIT not settled).
                ["cold_start_round_median_ms"] = n == warmUpFleet ? Measure.Median(coldRounds!) : double.NaN,
            });
            (lastOverhead, lastBaseline) = (overhead, baseline);
        }

        await fleet.StopAsync();
        await controller.StopAsync();
        AddGrowth(rows);
        if (fleetSizes[^1] >= 1000 && rows.FirstOrDefault(r => (int)r["workers"] == 1000) is { } thousand)
        {
            var at1000 = (double)thousand["overhead_ms"];
            return new SuiteResult("overhead", rows, lastOverhead / lastBaseline,
                $"round overhead / raw RabbitMQ.Client two-phase fan-out at {fleetSizes[^1]} workers (overhead {lastOverhead:0} ms)",
                $"overhead <= {ScaleTargetMs} ms per round at 1000 workers", at1000 <= ScaleTargetMs);
        }

        return new SuiteResult("overhead", rows, lastOverhead / lastBaseline,
            $"round overhead / raw RabbitMQ.Client two-phase fan-out at {fleetSizes[^1]} workers (overhead {lastOverhead:0} ms)",
            $"overhead <= {TargetMs} ms per round at 100 workers", lastOverhead <= TargetMs);
    }

    private const double ScaleTargetMs = 1000;

    /// <summary>
    /// From the second size on: how the overhead grew from the size before, as a factor per doubling of the fleet
    /// ((overhead ratio) ^ (1 / log2(size ratio))): 2.0 is linear growth, below 2.0 slower than linear.
    /// </summary>
    private static void AddGrowth(List<IReadOnlyDictionary<string, object>> rows)
    {
        for (int i = 0; i < rows.Count; i++)
        {
            var row = (Dictionary<string, object>)rows[i];
            if (i == 0)
            {
                row["growth_per_doubling"] = double.NaN;
                continue;
            }

            double sizeRatio = (int)row["workers"] / (double)(int)rows[i - 1]["workers"];
            double overheadRatio = (double)row["overhead_ms"] / (double)rows[i - 1]["overhead_ms"];
            row["growth_per_doubling"] = Math.Pow(overheadRatio, 1 / Math.Log2(sizeRatio));
        }
    }

    /// <summary>The process's largest working set while a federation runs, sampled every 50 ms.</summary>
    private sealed class PeakMemory : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task<double> _sampling;

        private PeakMemory(Process process) => _sampling = Task.Run(async () =>
        {
            long peak = 0;
            while (!_stop.IsCancellationRequested)
            {
                process.Refresh();
                peak = Math.Max(peak, process.WorkingSet64);
                try
                {
                    await Task.Delay(50, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }

            return peak / (1024.0 * 1024.0);
        });

        public static PeakMemory Sample(Process process) => new(process);

        public async Task<double> StopAsync()
        {
            await _stop.CancelAsync();
            return await _sampling;
        }

        public void Dispose() => _stop.Dispose();
    }

    private static async Task BeatAsync(IBus bus, string[] ids, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(HeartbeatInterval);
        do
        {
            foreach (var id in ids)
            {
                await bus.Publish(new WorkerHeartbeat
                {
                    WorkerId = id, Host = Environment.MachineName, DataPoints = new Dictionary<string, int> { ["cpu_usage"] = 1000 },
                    Timestamp = DateTimeOffset.UtcNow, IntervalSeconds = HeartbeatInterval.TotalSeconds,
                }, CancellationToken.None);
            }
        }
        while (await NextTick(timer, cancellationToken));
    }

    private static async Task<bool> NextTick(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static Task<IHost> StartControllerAsync(BenchServers servers, IConnectionMultiplexer redis) =>
        StartBenchControllerAsync(servers, redis, TimeSpan.FromMilliseconds(200));

    /// <summary>
    /// The deployed controller for a benchmark: quiet logs, no data of its own (so a round does no centralized
    /// evaluation: pure messaging), and the stand-ins speaking as the servers' own user (the shared-user development mode).
    /// </summary>
    internal static async Task<IHost> StartBenchControllerAsync(BenchServers servers, IConnectionMultiplexer redis, TimeSpan? quorumPollInterval = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.QuietOnStandardError();
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o => o.WaitUntilStarted = true);
        var options = new ControllerOptions { SharedWorkerUser = BrokerIdentity.UserOf(servers.Broker.ToString()) };
        if (quorumPollInterval is { } poll)
            options = options with { QuorumPollInterval = poll };
        builder.Services.AddDeployedController(new ConnectionSettings { Broker = servers.Broker.ToString(), Redis = servers.Redis }, redis,
            options, new InMemoryNodeStore("controller"));
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    // Stand-ins per bus: each has a channel per receive endpoint, and RabbitMQ allows 2,047 channels on a connection.
    private const int StandInsPerBus = 500;

    /// <summary>
    /// The stand-in fleet: one queue per worker, bound by its id exactly as a worker's own queue is (the broker then routes,
    /// and fans out a message addressed to many, as it does to a real fleet), on buses of <see cref="StandInsPerBus"/>
    /// queues; each stand-in answers as the worker whose queue the message came from. The first bus also observes the
    /// federations and publishes the heartbeats.
    /// </summary>
    private static async Task<Fleet> StartFleetAsync(BenchServers servers, string[] workerIds, Observations observed)
    {
        var hosts = new List<IHost>();
        try
        {
            foreach (var (chunk, index) in workerIds.Chunk(StandInsPerBus).Select((c, i) => (c, i)))
                hosts.Add(await StartFleetBusAsync(servers, chunk, index == 0 ? observed : null));
        }
        catch
        {
            foreach (var host in hosts)
                host.Dispose();
            throw;
        }

        return new Fleet(hosts);
    }

    private static async Task<IHost> StartFleetBusAsync(BenchServers servers, string[] workerIds, Observations? observed)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.QuietOnStandardError();
        if (observed is not null)
            builder.Services.AddSingleton(observed);
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o => o.WaitUntilStarted = true);
        builder.Services.AddMassTransit(x =>
        {
            if (observed is not null)
                x.AddConsumer<FederationObserver>();
            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(servers.Broker);
                cfg.UseIcosFlTopology();
                cfg.UseBrokerUserId(BrokerIdentity.UserOf(servers.Broker.ToString())!);
                foreach (var id in workerIds)
                {
                    cfg.ReceiveEndpoint($"icosfl-bench-{id}", e =>
                    {
                        e.AutoDelete = true;
                        e.Durable = false;
                        e.PrefetchCount = 4;
                        e.ConcurrentMessageLimit = 1;
                        e.ConfigureConsumeTopology = false;
                        e.BindAddressedToWorker(id);
                        e.Consumer(() => new NoOpTrainer(id));
                        e.Consumer(() => new NoOpEvaluator(id));
                    });
                }

                if (observed is not null)
                {
                    cfg.ReceiveEndpoint($"icosfl-bench-observer-{Guid.NewGuid():N}", e =>
                    {
                        e.AutoDelete = true;
                        e.Durable = false;
                        e.ConfigureConsumer<FederationObserver>(context);
                    });
                }
            });
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private sealed class Fleet(List<IHost> hosts) : IDisposable
    {
        public IBus Bus => hosts[0].Services.GetRequiredService<IBus>();

        public async Task StopAsync()
        {
            foreach (var host in hosts)
                await host.StopAsync();
        }

        public void Dispose()
        {
            foreach (var host in hosts)
                host.Dispose();
        }
    }

    /// <summary>A stand-in worker's trainer: answers a round start at once with the global weights, as <paramref name="workerId"/>.</summary>
    public sealed class NoOpTrainer(string workerId) : IConsumer<RoundStarted>
    {
        public Task Consume(ConsumeContext<RoundStarted> context) => context.Publish(new WeightUpdateSubmitted
        {
            FederationId = context.Message.FederationId, RoundId = context.Message.RoundId, Round = context.Message.Round,
            WorkerId = Addressee(context.Message.WorkerId, workerId), Weights = context.Message.GlobalWeights, NumExamples = 100,
            Metrics = new TrainMetrics(0.1, 1, 0),
        });
    }

    /// <summary>A stand-in worker's evaluator: answers an evaluation request at once, as <paramref name="workerId"/>.</summary>
    public sealed class NoOpEvaluator(string workerId) : IConsumer<EvaluationRequested>
    {
        public Task Consume(ConsumeContext<EvaluationRequested> context) => context.Publish(new EvaluationReported
        {
            FederationId = context.Message.FederationId, RoundId = context.Message.RoundId, Round = context.Message.Round,
            WorkerId = Addressee(context.Message.WorkerId, workerId), Metrics = new EvaluationMetrics(20, 0.1, 0.316, 0.2, 0.2, 0.447, 0.3),
        });
    }

    /// <summary>The stand-in a message reached; a message in its queue naming another worker means the routing is wrong.</summary>
    private static string Addressee(string? named, string queueOf) =>
        named is null || named == queueOf
            ? queueOf
            : throw new InvalidOperationException($"overhead: a message addressed to {named} reached the queue of {queueOf}");

    public sealed class FederationObserver(Observations observed)
        : IConsumer<RoundCompleted>, IConsumer<FederationCompleted>, IConsumer<FederationFailed>
    {
        public Task Consume(ConsumeContext<RoundCompleted> context)
        {
            observed.Round(context.Message);
            return Task.CompletedTask;
        }

        public Task Consume(ConsumeContext<FederationCompleted> context)
        {
            observed.Finish(context.Message.FederationId, null);
            return Task.CompletedTask;
        }

        public Task Consume(ConsumeContext<FederationFailed> context)
        {
            observed.Finish(context.Message.FederationId, context.Message.Reason);
            return Task.CompletedTask;
        }
    }

    public sealed record Outcome(IReadOnlyList<RoundCompleted> Rounds, string? Failure);

    public sealed class Observations
    {
        private readonly ConcurrentDictionary<Guid, ConcurrentQueue<RoundCompleted>> _rounds = new();
        private readonly ConcurrentDictionary<Guid, TaskCompletionSource<Outcome>> _done = new();

        public Task<Outcome> Expect(Guid federation)
        {
            _rounds[federation] = new ConcurrentQueue<RoundCompleted>();
            return _done.GetOrAdd(federation, _ => new TaskCompletionSource<Outcome>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }

        public void Round(RoundCompleted round)
        {
            if (_rounds.TryGetValue(round.FederationId, out var rounds))
                rounds.Enqueue(round);
        }

        public void Finish(Guid federation, string? failure)
        {
            if (_done.TryGetValue(federation, out var done))
                done.TrySetResult(new Outcome([.. _rounds[federation]], failure));
        }
    }

    /// <summary>The baseline: N small messages out to a queue, each answered at once into a reply queue, twice (train, evaluate).</summary>
    private sealed class RawFanOut : IAsyncDisposable
    {
        private static readonly byte[] Body = new byte[2048]; // about a RoundStarted of a small model
        private readonly IConnection _connection;
        private readonly IChannel _channel;
        private readonly IChannel _worker;
        private readonly string _requests;
        private readonly string _replies;
        private int _expected;
        private int _received;
        private TaskCompletionSource? _allReplied;

        private RawFanOut(IConnection connection, IChannel channel, IChannel worker, string requests, string replies)
        {
            (_connection, _channel, _worker, _requests, _replies) = (connection, channel, worker, requests, replies);
        }

        public static async Task<RawFanOut> OpenAsync(Uri broker)
        {
            var connection = await new ConnectionFactory { Uri = broker }.CreateConnectionAsync();
            var channel = await connection.CreateChannelAsync();
            var worker = await connection.CreateChannelAsync();
            var requests = (await channel.QueueDeclareAsync($"icosfl-bench-raw-req-{Guid.NewGuid():N}", false, true, true)).QueueName;
            var replies = (await channel.QueueDeclareAsync($"icosfl-bench-raw-rep-{Guid.NewGuid():N}", false, true, true)).QueueName;
            await worker.BasicQosAsync(0, 64, false);
            var pipe = new RawFanOut(connection, channel, worker, requests, replies);
            var answering = new AsyncEventingBasicConsumer(worker);
            answering.ReceivedAsync += async (_, d) =>
            {
                await worker.BasicPublishAsync("", replies, false, new BasicProperties(), d.Body.ToArray());
                await worker.BasicAckAsync(d.DeliveryTag, false);
            };
            await worker.BasicConsumeAsync(requests, false, answering);
            var collecting = new AsyncEventingBasicConsumer(channel);
            collecting.ReceivedAsync += (_, _) =>
            {
                if (Interlocked.Increment(ref pipe._received) == pipe._expected)
                    pipe._allReplied?.TrySetResult();
                return Task.CompletedTask;
            };
            await channel.BasicConsumeAsync(replies, true, collecting);
            return pipe;
        }

        public async Task TwoPhasesAsync(int n)
        {
            for (var phase = 0; phase < 2; phase++)
            {
                _allReplied = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _received = 0;
                _expected = n;
                for (var i = 0; i < n; i++)
                    await _channel.BasicPublishAsync("", _requests, false, new BasicProperties { Persistent = true }, Body);
                await _allReplied.Task.WaitAsync(TimeSpan.FromMinutes(1));
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _worker.DisposeAsync();
            await _channel.DisposeAsync();
            await _connection.DisposeAsync();
        }
    }
}
