using IcosFl.Contracts;
using IcosFl.Controller.Strategies;

namespace IcosFl.Controller.Tests.Strategies;

public class DifferentialPrivacyTests
{
    private static readonly ModelWeights Global = Model.Of([1f, 2f], [2f]);

    private static ClientUpdate[] Updates() =>
    [
        Model.Update("far", Model.Of([4f, 6f], [2f]), examples: 1),    // delta [3, 4, 0], norm 5
        Model.Update("near", Model.Of([1f, 2f], [3f]), examples: 1),    // delta [0, 0, 1], norm 1
    ];

    [Fact]
    public void Should_clip_each_delta_before_the_wrapped_strategy_aggregates()
    {
        var strategy = StrategyFactory.Create(RunConfig.Default with { ClipNorm = 2.5 });

        var result = strategy.AggregateTrain(Model.Round(), Global, Updates(), null);

        // far → global + [1.5, 2, 0] = [2.5, 4, 2]; near unchanged [1, 2, 3]; FedAvg → [1.75, 3, 2.5]
        Assert.Equal([1.75f, 3f, 2.5f], Model.Flat(result.Global));
        Assert.Equal(["far", "near"], result.Used);
        Assert.Equal("fedavg+dp-fixed-clipping", strategy.Name);
    }

    [Fact]
    public void Should_add_the_same_noise_for_the_same_round_and_different_noise_for_another()
    {
        var config = RunConfig.Default with { ClipNorm = 2.5, NoiseMultiplier = 1.0 };
        var strategy = StrategyFactory.Create(config);

        var first = Model.Flat(strategy.AggregateTrain(Model.Round(1, config), Global, Updates(), null).Global);
        var again = Model.Flat(StrategyFactory.Create(config).AggregateTrain(Model.Round(1, config), Global, Updates(), null).Global);
        var other = Model.Flat(strategy.AggregateTrain(Model.Round(2, config), Global, Updates(), null).Global);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.NotEqual([1.75f, 3f, 2.5f], first);
    }

    [Fact]
    public void Should_scale_the_noise_by_multiplier_times_clip_norm_over_participants()
    {
        var size = 200_000;
        var global = new ModelWeights([new NamedTensor("w", [size], new float[size])]);
        var updates = Enumerable.Range(0, 4)
            .Select(i => Model.Update($"w{i}", new ModelWeights([new NamedTensor("w", [size], new float[size])])))
            .ToArray();
        var config = RunConfig.Default with { ClipNorm = 2.0, NoiseMultiplier = 0.5 };
        var strategy = (DifferentialPrivacyServerSideFixedClipping)StrategyFactory.Create(config);

        var noisy = strategy.AggregateTrain(Model.Round(1, config), global, updates, null).Global.Tensors[0].Data;

        // All updates equal the global model, so the result is pure noise: stddev 0.5 · 2 / 4 = 0.25.
        Assert.Equal(0.25, strategy.NoiseStddev(4));
        var mean = noisy.Average(v => (double)v);
        var stddev = Math.Sqrt(noisy.Average(v => ((double)v - mean) * ((double)v - mean)));
        Assert.InRange(mean, -0.005, 0.005);
        Assert.InRange(stddev, 0.245, 0.255);
    }

    [Fact]
    public void Should_validate_on_the_raw_updates_so_clipping_cannot_hide_an_oversized_one()
    {
        var config = RunConfig.Default with { ClipNorm = 1.0, MaxUpdateNorm = 4.0 };

        var result = StrategyFactory.Create(config).AggregateTrain(Model.Round(1, config), Global, Updates(), null);

        Assert.Equal(["near"], result.Used);
        var rejected = Assert.Single(result.Rejected);
        Assert.Equal("far", rejected.WorkerId);
        Assert.Contains("update norm 5", rejected.Reason);
    }

    [Fact]
    public void Should_wrap_stateful_strategies_and_pass_their_state_through()
    {
        var config = RunConfig.Default with { Strategy = "fedadam", ClipNorm = 10 };
        var strategy = StrategyFactory.Create(config);

        var result = strategy.AggregateTrain(Model.Round(1, config), Global, Updates(), null);

        Assert.Equal(["m/w", "m/b", "v/w", "v/b"], result.ServerState!.Tensors.Select(t => t.Name));
        Assert.Equal("fedadam+dp-fixed-clipping", strategy.Name);
    }

    [Fact]
    public void Should_refuse_noise_without_a_clipping_norm()
    {
        var error = Assert.Throws<ArgumentException>(() => StrategyFactory.Create(RunConfig.Default with { NoiseMultiplier = 1.0 }));
        Assert.Contains("run-config key 'noise-multiplier': needs clip-norm > 0 (the noise is scaled by it)", error.Message);
    }

    [Fact]
    public void Should_forward_everything_but_aggregate_train_to_the_wrapped_strategy()
    {
        var inner = new FixedAnswers();
        var strategy = new DifferentialPrivacyServerSideFixedClipping(inner, clipNorm: 1.0, noiseMultiplier: 0.0);
        var round = Model.Round();

        Assert.Same(inner.Initial, strategy.InitializeParameters(RunConfig.Default));
        Assert.Same(inner.Trainers, strategy.ConfigureTrain(round, ["a"]));
        Assert.Same(inner.Centralized, strategy.Evaluate(round, Global, new NoData()));
        Assert.Same(inner.Evaluators, strategy.ConfigureEvaluate(round, ["a"]));
        Assert.Same(inner.Summary, strategy.AggregateEvaluate(round, []));
    }

    /// <summary>A strategy whose every answer is one object, so that a forwarded answer is recognisably its own.</summary>
    private sealed class FixedAnswers : IStrategy
    {
        public ModelWeights Initial { get; } = Model.Single(7f);
        public IReadOnlyList<string> Trainers { get; } = ["trainer"];
        public IReadOnlyList<string> Evaluators { get; } = ["evaluator"];
        public CentralizedEvaluation Centralized { get; } = new(null, "fixed");
        public EvaluationSummary Summary { get; } = new(1.5, null, ["evaluator"]);

        public string Name => "fixed";
        public ModelWeights InitializeParameters(RunConfig config) => Initial;
        public IReadOnlyList<string> ConfigureTrain(RoundContext round, IReadOnlyList<string> availableWorkers) => Trainers;
        public AggregationResult AggregateTrain(RoundContext round, ModelWeights global, IReadOnlyList<ClientUpdate> updates, ModelWeights? serverState) =>
            throw new NotSupportedException("not asked here");
        public CentralizedEvaluation Evaluate(RoundContext round, ModelWeights global, IControllerData data) => Centralized;
        public IReadOnlyList<string> ConfigureEvaluate(RoundContext round, IReadOnlyList<string> availableWorkers) => Evaluators;
        public EvaluationSummary AggregateEvaluate(RoundContext round, IReadOnlyList<ClientEvaluation> results) => Summary;
    }
}
