using IcosFl.Contracts;
using IcosFl.Controller.Checkpoints;
using IcosFl.Controller.Sagas;
using IcosFl.Controller.Strategies;
using IcosFl.Infrastructure.Weights;
using IcosFl.Learning.NodeData;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IcosFl.Controller.Tests.Sagas;

/// <summary>
/// The controller's sagas and consumers on MassTransit's test harness (in-memory transport, in-memory
/// saga repositories, real delayed scheduler), with the test playing the workers.
/// </summary>
public sealed class FederationHarness : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private FederationHarness(ServiceProvider provider, FakeTimeProvider claimCheckClock, RecordedLog log)
    {
        _provider = provider;
        Harness = provider.GetRequiredService<ITestHarness>();
        Transport = provider.GetRequiredService<WeightTransport>();
        Checkpoints = provider.GetRequiredService<ICheckpointStore>();
        ClaimCheckClock = claimCheckClock;
        Log = log;
    }

    /// <summary>The clock the claim-check store's time-to-live runs on (only that store's): moved by hand to expire payloads.</summary>
    public FakeTimeProvider ClaimCheckClock { get; }

    /// <summary>What the controller logged.</summary>
    public RecordedLog Log { get; }

    /// <summary>The controller's services (its round ledger, worker registry, ...).</summary>
    public IServiceProvider Services => _provider;

    /// <summary>The controller's checkpoint store (in memory here).</summary>
    public ICheckpointStore Checkpoints { get; }

    public ITestHarness Harness { get; }
    public WeightTransport Transport { get; }
    public ISagaStateMachineTestHarness<FederationStateMachine, FederationState> Federations =>
        Harness.GetSagaStateMachineHarness<FederationStateMachine, FederationState>();
    public ISagaStateMachineTestHarness<RoundStateMachine, RoundState> Rounds =>
        Harness.GetSagaStateMachineHarness<RoundStateMachine, RoundState>();

    /// <param name="transport">Inline threshold and time-to-live of payloads (the defaults unless given).</param>
    /// <param name="checkpoints">The controller's checkpoint store (in memory unless given).</param>
    /// <param name="store">The claim-check store (an in-memory one unless given).</param>
    /// <param name="strategies">The strategies the flow calls (the run config's unless given).</param>
    public static async Task<FederationHarness> StartAsync(ControllerOptions? options = null, WeightTransportOptions? transport = null,
        ICheckpointStore? checkpoints = null, IClaimCheckStore? store = null, IStrategyProvider? strategies = null)
    {
        var claimCheckClock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var log = new RecordedLog();
        var services = new ServiceCollection()
            .AddLogging(b => b.AddProvider(log))
            .AddSingleton<INodeDataSource>(new SyntheticNodeData(0, 600, 7))
            .AddSingleton(store ?? new InMemoryClaimCheckStore(claimCheckClock))
            .AddSingleton(transport ?? new WeightTransportOptions())
            .AddSingleton<WeightTransport>();
        if (checkpoints is not null)
            services.AddSingleton(checkpoints);
        if (strategies is not null)
            services.AddSingleton(strategies);
        services
            // In process, like the embedded simulation: the test's "workers" put their updates in the store themselves.
            .AddIcosFlControllerServices((options ?? new ControllerOptions
            {
                QuorumPollInterval = TimeSpan.FromMilliseconds(100),
                LivenessCheckInterval = TimeSpan.FromMilliseconds(200),
                // The tests' heartbeats stand for ones seconds apart (their timestamps) but arrive milliseconds apart:
                // the flood throttle, which goes by arrival, is tested on its own (Throttling_heartbeats, Enrolling_nodes).
                HeartbeatMinimumGap = TimeSpan.Zero,
            }) with { WorkerAuthentication = Controller.Workers.WorkerAuthentication.InProcessTrusted })
            .AddMassTransitTestHarness(x =>
            {
                x.AddIcosFlController();
                x.AddDelayedMessageScheduler();
                x.UsingInMemory((context, cfg) =>
                {
                    cfg.UseDelayedMessageScheduler();
                    cfg.ConfigureEndpoints(context);
                });
            });
        var provider = services.BuildServiceProvider(true);
        var harness = provider.GetRequiredService<ITestHarness>();
        harness.TestTimeout = TimeSpan.FromSeconds(30);
        await harness.Start();
        return new FederationHarness(provider, claimCheckClock, log);
    }

    /// <summary>Announces workers the way real ones do, and waits until the controller has consumed the heartbeats.</summary>
    public async Task HeartbeatAsync(params string[] workerIds)
    {
        foreach (var id in workerIds)
        {
            var heartbeat = new WorkerHeartbeat
            {
                WorkerId = id,
                Host = "test",
                DataPoints = new Dictionary<string, int> { [Metrics.CpuUsage] = 600 },
                Timestamp = DateTimeOffset.UtcNow,
                IntervalSeconds = 30,
            };
            await Harness.Bus.Publish(heartbeat);
            Assert.True(await Harness.Consumed.Any<WorkerHeartbeat>(c => c.Context.Message.WorkerId == id && c.Context.Message.Timestamp == heartbeat.Timestamp),
                $"heartbeat of {id} was not consumed");
        }
    }

    /// <summary>One heartbeat of a worker holding <paramref name="points"/> points of each metric given, taken at <paramref name="at"/>.</summary>
    public async Task HeartbeatAsync(string workerId, IReadOnlyDictionary<string, int> points, DateTimeOffset at, double intervalSeconds = 30)
    {
        await Harness.Bus.Publish(new WorkerHeartbeat
        {
            WorkerId = workerId, Host = "test", DataPoints = points, Timestamp = at, IntervalSeconds = intervalSeconds,
        });
        Assert.True(await Harness.Consumed.Any<WorkerHeartbeat>(c => c.Context.Message.WorkerId == workerId && c.Context.Message.Timestamp == at),
            $"heartbeat of {workerId} was not consumed");
    }

    public async Task<Guid> StartFederationAsync(RunConfig config)
    {
        var id = NewId.NextGuid();
        await Harness.Bus.Publish(new StartFederation { FederationId = id, RunConfig = config });
        return id;
    }

    /// <summary>Waits for <paramref name="count"/> published messages of a type that match, in publish order.</summary>
    public async Task<IReadOnlyList<T>> PublishedAsync<T>(int count, Func<T, bool> match, TimeSpan? timeout = null) where T : class
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        var found = new List<T>();
        try
        {
            await foreach (var published in Harness.Published.SelectAsync<T>(m => match(m.Context.Message), cts.Token))
            {
                found.Add(published.Context.Message);
                if (found.Count == count)
                    break;
            }
        }
        catch (OperationCanceledException)
        {
        }
        Assert.True(found.Count == count, $"expected {count} published {typeof(T).Name}, saw {found.Count}");
        return found;
    }

    /// <summary>Acts as a worker: submits the round's global weights plus <paramref name="delta"/> on every element.</summary>
    public async Task SubmitAsync(RoundStarted round, string workerId, float delta, int numExamples, double loss = 0.5)
    {
        var global = await Transport.UnpackAsync(round.GlobalWeights);
        var updated = new ModelWeights(global.Tensors
            .Select(t => t with { Data = t.Data.Select(v => v + delta).ToArray() }).ToList());
        await SubmitWeightsAsync(round, workerId, updated, numExamples, loss);
    }

    public async Task SubmitWeightsAsync(RoundStarted round, string workerId, ModelWeights weights, int numExamples, double loss = 0.5)
    {
        await Harness.Bus.Publish(new WeightUpdateSubmitted
        {
            FederationId = round.FederationId,
            RoundId = round.RoundId,
            Round = round.Round,
            WorkerId = workerId,
            Weights = await Transport.PackAsync(weights, $"test:{round.RoundId:N}:{workerId}"),
            NumExamples = numExamples,
            Metrics = new TrainMetrics(loss, 1, 1),
        });
    }

    /// <summary>Acts as the workers of a round: waits for its <paramref name="count"/> RoundStarted and submits the global weights unchanged.</summary>
    public async Task<IReadOnlyList<RoundStarted>> TrainUnchangedAsync(Guid federationId, int count, int numExamples = 10)
    {
        var started = await PublishedAsync<RoundStarted>(count, m => m.FederationId == federationId);
        foreach (var s in started)
            await SubmitAsync(s, s.WorkerId, delta: 0f, numExamples: numExamples);
        return started;
    }

    /// <summary>Acts as an evaluator: reports an MSE of <paramref name="mse"/> over <paramref name="numExamples"/> examples.</summary>
    public Task ReportEvaluationAsync(EvaluationRequested request, double mse, int numExamples) =>
        Harness.Bus.Publish(new EvaluationReported
        {
            FederationId = request.FederationId,
            RoundId = request.RoundId,
            Round = request.Round,
            WorkerId = request.WorkerId,
            Metrics = new EvaluationMetrics(numExamples, mse, Math.Sqrt(mse), 1, 9, 3, 2),
        });

    public async ValueTask DisposeAsync()
    {
        await Harness.Stop();
        await _provider.DisposeAsync();
    }
}
