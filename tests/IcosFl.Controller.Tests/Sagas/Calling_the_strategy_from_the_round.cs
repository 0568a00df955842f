using System.Collections.Concurrent;
using IcosFl.Contracts;
using IcosFl.Controller.Checkpoints;
using IcosFl.Controller.Messages;
using IcosFl.Controller.Strategies;
using IcosFl.Controller.Tests.Checkpoints;
using IcosFl.Learning;

namespace IcosFl.Controller.Tests.Sagas;

/// <summary>
/// The round's flow asks the strategy for every decision (initial model, trainers, aggregation, centralized
/// evaluation, evaluators, evaluation loss) and uses its answers as they are: a strategy that answers
/// differently from FedAvg changes the federation accordingly.
/// </summary>
public sealed class Calling_the_strategy_from_the_round
{
    private static readonly string[] Workers = ["worker-1", "worker-2", "worker-3"];

    [Fact]
    public async Task Should_start_the_federation_from_the_strategys_initial_parameters()
    {
        var strategy = new ScriptedStrategy
        {
            Initial = config => new ModelWeights(LocalTraining.InitialWeights(config).Tensors
                .Select(t => t with { Data = Enumerable.Repeat(0.25f, t.Data.Length).ToArray() }).ToList()),
        };
        await using var h = await FederationHarness.StartAsync(strategies: strategy);
        await h.HeartbeatAsync(Workers);
        var config = RunConfig.Default with { NumServerRounds = 1, MinEvaluateClients = 10 };
        var id = await h.StartFederationAsync(config);

        var started = await h.PublishedAsync<RoundStarted>(3, m => m.FederationId == id);
        var sent = await h.Transport.UnpackAsync(started[0].GlobalWeights);
        CheckpointStoreTests.AssertSameWeights(strategy.Initial(config), sent);
        Assert.All(sent.Tensors, t => Assert.All(t.Data, v => Assert.Equal(0.25f, v)));
        Assert.Equal(1, strategy.Calls[nameof(IStrategy.InitializeParameters)]);
    }

    [Fact]
    public async Task Should_train_and_evaluate_on_the_workers_the_strategy_chooses()
    {
        var strategy = new ScriptedStrategy
        {
            Trainers = (_, available) => available.Where(w => w != "worker-2").ToList(),
            Evaluators = (_, available) => available.Where(w => w == "worker-2").ToList(),
        };
        await using var h = await FederationHarness.StartAsync(strategies: strategy);
        await h.HeartbeatAsync(Workers);
        var id = await h.StartFederationAsync(RunConfig.Default with { NumServerRounds = 1 });

        var started = await h.TrainUnchangedAsync(id, 2);
        Assert.Equal(["worker-1", "worker-3"], started.Select(s => s.WorkerId).Order());
        var opened = Assert.Single(await h.PublishedAsync<RoundOpened>(1, m => m.FederationId == id));
        Assert.Equal(["worker-1", "worker-3"], opened.SelectedWorkers.Order());

        var request = Assert.Single(await h.PublishedAsync<EvaluationRequested>(1, m => m.FederationId == id));
        Assert.Equal("worker-2", request.WorkerId);
        var aggregated = Assert.Single(await h.PublishedAsync<RoundAggregated>(1, m => m.FederationId == id));
        Assert.Equal(["worker-2"], aggregated.Evaluators);
        Assert.Equal(1, strategy.Calls[nameof(IStrategy.ConfigureTrain)]);
        Assert.Equal(1, strategy.Calls[nameof(IStrategy.ConfigureEvaluate)]);
    }

    [Fact]
    public async Task Should_report_the_evaluation_loss_the_strategy_aggregates()
    {
        // Not FedAvg's example-weighted mean (2.75 here): the worst worker's MSE, and only that worker as evaluator.
        var strategy = new ScriptedStrategy
        {
            CombineEvaluations = (_, results) =>
            {
                var worst = results.MaxBy(r => r.Metrics.Mse)!;
                return new EvaluationSummary(worst.Metrics.Mse, worst.Metrics, [worst.WorkerId]);
            },
        };
        await using var h = await FederationHarness.StartAsync(strategies: strategy);
        await h.HeartbeatAsync(Workers);
        var id = await h.StartFederationAsync(RunConfig.Default with { NumServerRounds = 1, MinEvaluateClients = 2 });

        await h.TrainUnchangedAsync(id, 3);
        var requests = await h.PublishedAsync<EvaluationRequested>(3, m => m.FederationId == id);
        var mse = new Dictionary<string, (double Mse, int N)> { ["worker-1"] = (1.0, 10), ["worker-2"] = (5.5, 10), ["worker-3"] = (4.0, 20) };
        foreach (var r in requests)
            await h.ReportEvaluationAsync(r, mse[r.WorkerId].Mse, mse[r.WorkerId].N);

        var completed = (await h.PublishedAsync<RoundCompleted>(1, m => m.FederationId == id)).Single();
        Assert.Equal(5.5, completed.EvalLoss);
        Assert.Equal(["worker-2"], completed.Evaluators);
        // Called once, with every report the round collected.
        Assert.Equal(1, strategy.Calls[nameof(IStrategy.AggregateEvaluate)]);
        Assert.Equal(Workers, strategy.LastEvaluations!.Select(e => e.WorkerId).Order());
    }

    [Fact]
    public async Task Should_report_and_checkpoint_the_strategys_centralized_evaluation()
    {
        var metrics = new EvaluationMetrics(42, Mse: 0.04, Rmse: 0.2, Mae: 0.15, PersistenceMse: 0.09, PersistenceRmse: 0.3, PersistenceMae: 0.25);
        int? seriesLength = null;
        var strategy = new ScriptedStrategy
        {
            EvaluateCentrally = (round, global, data) =>
            {
                // The controller's own data reaches the strategy through IControllerData (the harness's node: 600 points).
                seriesLength = data.TryRead(round.Config, out var series, out _) ? series.Count : -1;
                return new CentralizedEvaluation(metrics, null);
            },
        };
        await using var h = await FederationHarness.StartAsync(strategies: strategy);
        await h.HeartbeatAsync(Workers);
        var id = await h.StartFederationAsync(RunConfig.Default with { NumServerRounds = 1, MinEvaluateClients = 10 });

        await h.TrainUnchangedAsync(id, 3);

        var completed = (await h.PublishedAsync<RoundCompleted>(1, m => m.FederationId == id)).Single();
        Assert.Equal(metrics, completed.CentralizedEval);
        Assert.Equal(600, seriesLength);
        var latest = await h.Checkpoints.LoadAsync(id, CheckpointKind.Latest);
        Assert.Equal(metrics, latest!.Metrics.Centralized);
        Assert.Equal(1, strategy.Calls[nameof(IStrategy.Evaluate)]);
        Assert.Equal(1, strategy.Calls[nameof(IStrategy.AggregateTrain)]);
    }

    /// <summary>FedAvg, with any of its answers replaced; counts the calls the flow makes.</summary>
    private sealed class ScriptedStrategy : IStrategy, IStrategyProvider
    {
        private readonly FedAvg _fedAvg = new();

        public ConcurrentDictionary<string, int> Calls { get; } = new();

        public IReadOnlyList<ClientEvaluation>? LastEvaluations { get; private set; }

        public Func<RunConfig, ModelWeights>? Initial { get; init; }

        public Func<RoundContext, IReadOnlyList<string>, IReadOnlyList<string>>? Trainers { get; init; }

        public Func<RoundContext, IReadOnlyList<string>, IReadOnlyList<string>>? Evaluators { get; init; }

        public Func<RoundContext, ModelWeights, IControllerData, CentralizedEvaluation>? EvaluateCentrally { get; init; }

        public Func<RoundContext, IReadOnlyList<ClientEvaluation>, EvaluationSummary>? CombineEvaluations { get; init; }

        public string Name => "scripted";

        public IStrategy For(RunConfig config) => this;

        public ModelWeights InitializeParameters(RunConfig config) =>
            Count(nameof(InitializeParameters), () => Initial is null ? _fedAvg.InitializeParameters(config) : Initial(config));

        public IReadOnlyList<string> ConfigureTrain(RoundContext round, IReadOnlyList<string> availableWorkers) =>
            Count(nameof(ConfigureTrain), () => Trainers?.Invoke(round, availableWorkers) ?? _fedAvg.ConfigureTrain(round, availableWorkers));

        public AggregationResult AggregateTrain(RoundContext round, ModelWeights global, IReadOnlyList<ClientUpdate> updates, ModelWeights? serverState) =>
            Count(nameof(AggregateTrain), () => _fedAvg.AggregateTrain(round, global, updates, serverState));

        public CentralizedEvaluation Evaluate(RoundContext round, ModelWeights global, IControllerData data) =>
            Count(nameof(Evaluate), () => EvaluateCentrally?.Invoke(round, global, data) ?? _fedAvg.Evaluate(round, global, data));

        public IReadOnlyList<string> ConfigureEvaluate(RoundContext round, IReadOnlyList<string> availableWorkers) =>
            Count(nameof(ConfigureEvaluate), () => Evaluators?.Invoke(round, availableWorkers) ?? _fedAvg.ConfigureEvaluate(round, availableWorkers));

        public EvaluationSummary AggregateEvaluate(RoundContext round, IReadOnlyList<ClientEvaluation> results)
        {
            LastEvaluations = results;
            return Count(nameof(AggregateEvaluate), () => CombineEvaluations?.Invoke(round, results) ?? _fedAvg.AggregateEvaluate(round, results));
        }

        private T Count<T>(string method, Func<T> answer)
        {
            Calls.AddOrUpdate(method, 1, (_, n) => n + 1);
            return answer();
        }
    }
}
