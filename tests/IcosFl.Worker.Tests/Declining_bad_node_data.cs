using System.Collections.Concurrent;
using IcosFl.Contracts;
using IcosFl.Infrastructure.Weights;
using IcosFl.Learning;
using IcosFl.Learning.NodeData;
using IcosFl.Worker;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IcosFl.Worker.Tests;

// Metrics here are the contract's names, not the namespace IcosFl.Worker.Metrics that this namespace sees first.
using Metrics = IcosFl.Contracts.Metrics;

/// <summary>docs/node-data.md, "Bad input": the worker's real training consumer on its own store's series.</summary>
public sealed class Declining_bad_node_data
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeSeconds(1_795_860_000);
    private static readonly RunConfig Config = RunConfig.Default with { LocalEpochs = 1, HiddenLayerSize = 4 };

    [Fact]
    public async Task Should_decline_a_series_too_short_for_the_horizon_naming_the_points_held_and_needed()
    {
        var (declined, _, _) = await RoundOn(Store(Enumerable.Range(0, 120).Select(k => 3.0 * k)));

        Assert.Equal("this node holds 120 cpu_usage points; 151 are needed: time-step 10 and train-test-split 0.8 need 51, plus forecast-horizon 100", declined);
    }

    [Fact]
    public async Task Should_train_only_after_the_last_long_gap_and_log_the_repair()
    {
        // 300 points, a 10-minute hole, then 160 points: the 160 are enough, and windows never cross the hole.
        var (declined, submitted, log) = await RoundOn(Store(Enumerable.Range(0, 300).Select(k => 3.0 * k)
            .Concat(Enumerable.Range(0, 160).Select(k => 1500 + 3.0 * k))));

        Assert.Null(declined);
        Assert.Equal(ChronologicalSplit.TrainCount(160, Config.TrainTestSplit) - Config.TimeStep, submitted!.NumExamples);
        Assert.Contains(log, l => l.Level == LogLevel.Warning && l.Message.Contains(
            "1 long gap in the series (more than 2 missing samples at step 3 s), the last 2026-11-28T10:14:57.0000000+00:00 to 2026-11-28T10:25:00.0000000+00:00: " +
            "training uses the 160 points after it, the 300 before set aside", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_decline_when_only_a_short_stretch_follows_the_last_long_gap()
    {
        var (declined, _, _) = await RoundOn(Store(Enumerable.Range(0, 300).Select(k => 3.0 * k)
            .Concat(Enumerable.Range(0, 100).Select(k => 1500 + 3.0 * k))));

        Assert.Equal("this node holds 100 cpu_usage points (after the gap repairs in the log); 151 are needed: time-step 10 and train-test-split 0.8 need 51, plus forecast-horizon 100", declined);
    }

    [Fact]
    public async Task Should_decline_a_constant_series()
    {
        var (declined, _, _) = await RoundOn(Store(Enumerable.Range(0, 200).Select(k => 3.0 * k), _ => 0.25));

        Assert.Equal("cpu_usage is 0.25 at all 200 points, a constant series with nothing to learn (its min/max scaling has no range)", declined);
    }

    [Fact]
    public async Task Should_decline_naming_the_failure_when_training_throws()
    {
        var (declined, submitted, log) = await RoundOn(new FailingStore());

        Assert.Null(submitted);
        Assert.Equal("local training failed: IOException: cpu_usage.csv: Input/output error", declined);
        Assert.Contains(log, e => e.Level == LogLevel.Error && e.Message == "edge-1 could not train round 1");
    }

    private static InMemoryNodeStore Store(IEnumerable<double> seconds, Func<int, double>? value = null)
    {
        var store = new InMemoryNodeStore("edge-1");
        store.Append(seconds.Select((s, i) => new MetricSample(Metrics.CpuUsage, T0.AddSeconds(s), value?.Invoke(i) ?? 1 + Math.Sin(i / 6.0))).ToList());
        return store;
    }

    [Fact]
    public async Task Should_answer_an_evaluation_naming_the_failure_when_scoring_throws_instead_of_faulting()
    {
        await using var worker = await WorkerOn(new FailingStore());
        await worker.Harness.Bus.Publish(new EvaluationRequested
        {
            FederationId = Guid.NewGuid(), RoundId = Guid.NewGuid(), Round = 1, WorkerId = "edge-1",
            GlobalWeights = await worker.GlobalWeights(), RunConfig = Config, Deadline = DateTimeOffset.UtcNow.AddMinutes(1),
        });

        Assert.True(await worker.Harness.Published.Any<EvaluationReported>());
        var reported = worker.Harness.Published.Select<EvaluationReported>().Single().Context.Message;
        Assert.Null(reported.Metrics);
        Assert.Equal("evaluation failed: IOException: cpu_usage.csv: Input/output error", reported.DeclinedReason);
        Assert.False(await worker.Harness.Published.Any<Fault<EvaluationRequested>>());
        Assert.Contains(worker.Log, e => e.Level == LogLevel.Error && e.Message == "edge-1 could not evaluate round 1");
        Assert.Contains(worker.Log, e => e.Level == LogLevel.Warning && e.Message ==
            "edge-1 declines to evaluate round 1: evaluation failed: IOException: cpu_usage.csv: Input/output error");
    }

    private static async Task<(string? Declined, WeightUpdateSubmitted? Submitted, IReadOnlyCollection<(LogLevel Level, string Message)> Log)> RoundOn(INodeDataSource data)
    {
        await using var worker = await WorkerOn(data);
        await worker.Harness.Bus.Publish(new RoundStarted
        {
            FederationId = Guid.NewGuid(), RoundId = Guid.NewGuid(), Round = 1, WorkerId = "edge-1",
            GlobalWeights = await worker.GlobalWeights(), RunConfig = Config, Deadline = DateTimeOffset.UtcNow.AddMinutes(1),
        });

        var harness = worker.Harness;
        Assert.True(await harness.Published.Any<TrainingDeclined>() || await harness.Published.Any<WeightUpdateSubmitted>());
        var declined = harness.Published.Select<TrainingDeclined>().SingleOrDefault()?.Context.Message.Reason;
        var submitted = harness.Published.Select<WeightUpdateSubmitted>().SingleOrDefault()?.Context.Message;
        return (declined, submitted, worker.Log);
    }

    /// <summary>Worker edge-1's real consumers on <paramref name="data"/>, on MassTransit's test harness.</summary>
    private static async Task<Worker> WorkerOn(INodeDataSource data)
    {
        var log = new ConcurrentQueue<(LogLevel, string)>();
        var provider = new ServiceCollection()
            .AddLogging(b => b.AddProvider(new CollectingLoggerProvider(log)))
            .AddSingleton(new WorkerNode(new WorkerOptions { WorkerId = "edge-1" }, data))
            .AddSingleton<IClaimCheckStore, InMemoryClaimCheckStore>()
            .AddSingleton(new WeightTransportOptions())
            .AddSingleton<WeightTransport>()
            .AddMassTransitTestHarness(x =>
            {
                x.AddConsumer<RoundStartedConsumer>();
                x.AddConsumer<EvaluationRequestedConsumer>();
            })
            .BuildServiceProvider(true);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        return new Worker(provider, harness, log);
    }

    private sealed class Worker(ServiceProvider provider, ITestHarness harness, ConcurrentQueue<(LogLevel, string)> log) : IAsyncDisposable
    {
        public ITestHarness Harness => harness;

        public IReadOnlyCollection<(LogLevel Level, string Message)> Log => log.ToArray();

        public Task<WeightsPayload> GlobalWeights() =>
            provider.GetRequiredService<WeightTransport>().PackAsync(LocalTraining.InitialWeights(Config), "test:global");

        public ValueTask DisposeAsync() => provider.DisposeAsync();
    }

    /// <summary>A node store whose disk fails when the worker reads it for training.</summary>
    private sealed class FailingStore : INodeDataSource
    {
        public IReadOnlyList<float>? GetSeries(string metric) =>
            throw new IOException($"{metric}.csv: Input/output error\n(second line of detail)");

        public IReadOnlyDictionary<string, int> DataPoints() => new Dictionary<string, int> { [Metrics.CpuUsage] = 300 };
    }

    /// <summary>A logging sink that keeps every message, to check what the worker's structured log says.</summary>
    private sealed class CollectingLoggerProvider(ConcurrentQueue<(LogLevel, string)> log) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Collecting(log);

        public void Dispose()
        {
        }

        private sealed class Collecting(ConcurrentQueue<(LogLevel, string)> log) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                log.Enqueue((logLevel, formatter(state, exception)));
        }
    }
}
