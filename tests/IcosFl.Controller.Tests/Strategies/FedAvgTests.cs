using IcosFl.Contracts;
using IcosFl.Controller.Rounds;
using IcosFl.Controller.Strategies;
using IcosFl.Learning;
using IcosFl.Learning.NodeData;

namespace IcosFl.Controller.Tests.Strategies;

public class FedAvgTests
{
    private static readonly ModelWeights Global = Model.Of([0f, 0f], [0f]);

    [Fact]
    public void Should_weight_updates_by_their_example_counts()
    {
        var updates = new[]
        {
            Model.Update("a", Model.Of([1f, 2f], [4f]), examples: 1, loss: 1.0),
            Model.Update("b", Model.Of([3f, 6f], [8f]), examples: 3, loss: 3.0),
        };

        var result = new FedAvg().AggregateTrain(Model.Round(), Global, updates, null);

        // w = 1/4·[1,2] + 3/4·[3,6] = [2.5, 5]; b = 1/4·4 + 3/4·8 = 7; loss = (1·1 + 3·3)/4 = 2.5
        Assert.Equal([2.5f, 5f, 7f], Model.Flat(result.Global));
        Assert.Equal(["w", "b"], result.Global.Tensors.Select(t => t.Name));
        Assert.Equal([2], result.Global.Tensors[0].Shape);
        Assert.Equal(2.5, result.TrainLoss);
        Assert.Equal(["a", "b"], result.Used);
        Assert.Empty(result.Rejected);
        Assert.Null(result.ServerState);
    }

    [Fact]
    public void Should_leave_out_invalid_updates_with_their_reasons_and_average_the_rest()
    {
        var updates = new[]
        {
            Model.Update("good", Model.Of([2f, 4f], [6f]), examples: 5, loss: 0.25),
            Model.Update("nan", Model.Of([2f, float.NaN], [6f]), examples: 5),
            Model.Update("empty", Model.Of([2f, 4f], [6f]), examples: 0),
            Model.Update("good", Model.Of([9f, 9f], [9f]), examples: 5),
        };

        var result = new FedAvg().AggregateTrain(Model.Round(), Global, updates, null);

        Assert.Equal([2f, 4f, 6f], Model.Flat(result.Global));
        Assert.Equal(["good"], result.Used);
        Assert.Equal(0.25, result.TrainLoss);
        Assert.Equal(["nan", "empty", "good"], result.Rejected.Select(r => r.WorkerId));
        Assert.Contains("'w' holds NaN at element 1", result.Rejected[0].Reason);
        Assert.Contains("0 training examples", result.Rejected[1].Reason);
        Assert.Contains("second update", result.Rejected[2].Reason);
    }

    [Fact]
    public void Should_throw_an_aggregation_exception_naming_every_reason_when_nothing_is_valid()
    {
        var updates = new[]
        {
            Model.Update("w1", Model.Of([1f, 1f], [float.PositiveInfinity])),
            Model.Update("w2", Model.Single(1f, 1f)),
        };

        var error = Assert.Throws<AggregationException>(() => new FedAvg().AggregateTrain(Model.Round(3), Global, updates, null));

        Assert.Contains("Round 3", error.Message);
        Assert.Contains("none of the 2 updates", error.Message);
        Assert.Contains("w1 tensor 'b' holds +Infinity at element 0", error.Message);
        Assert.Contains("w2 has 1 tensors, the global model has 2 (w, b)", error.Message);
        Assert.Equal(["w1", "w2"], error.Rejected.Select(r => r.WorkerId));
    }

    [Fact]
    public void Should_throw_when_no_update_arrived()
    {
        var error = Assert.Throws<AggregationException>(() => new FedAvg().AggregateTrain(Model.Round(), Global, [], null));
        Assert.Contains("no updates arrived", error.Message);
    }

    [Fact]
    public void Should_pool_evaluations_by_example_count()
    {
        var results = new[]
        {
            new ClientEvaluation("a", new EvaluationMetrics(1, Mse: 4, Rmse: 2, Mae: 1, PersistenceMse: 16, PersistenceRmse: 4, PersistenceMae: 3)),
            new ClientEvaluation("b", new EvaluationMetrics(3, Mse: 12, Rmse: 3.4641, Mae: 5, PersistenceMse: 32, PersistenceRmse: 5.6569, PersistenceMae: 7)),
            new ClientEvaluation("none", new EvaluationMetrics(0, 0, 0, 0, 0, 0, 0)),
        };

        var summary = new FedAvg().AggregateEvaluate(Model.Round(), results);

        // MSE = (1·4 + 3·12)/4 = 10; MAE = (1 + 15)/4 = 4; persistence MSE = (16 + 96)/4 = 28; persistence MAE = (3 + 21)/4 = 6
        Assert.Equal(10.0, summary.Loss);
        Assert.Equal(new EvaluationMetrics(4, 10, Math.Sqrt(10), 4, 28, Math.Sqrt(28), 6), summary.Metrics);
        Assert.Equal(["a", "b"], summary.Evaluators);
    }

    [Fact]
    public void Should_start_from_the_seeded_lstm_of_the_config()
    {
        var config = RunConfig.Default with { Seed = 7, HiddenLayerSize = 8 };
        var initial = new FedAvg().InitializeParameters(config);
        Assert.Equal(Model.Flat(LocalTraining.InitialWeights(config)), Model.Flat(initial));
        Assert.NotEqual(Model.Flat(initial), Model.Flat(new FedAvg().InitializeParameters(config with { Seed = 8 })));
    }

    [Fact]
    public void Should_evaluate_centrally_on_the_controllers_data_or_say_why_not()
    {
        var config = RunConfig.Default;
        var weights = LocalTraining.InitialWeights(config);
        var node = new SyntheticNodeData(0, 600, 7);

        var evaluated = new FedAvg().Evaluate(Model.Round(1, config), weights, new ControllerNodeData(node));
        Assert.True(FeatureSeries.TryRead(node, config, out var series, out _));
        Assert.Equal(LocalTraining.Evaluate(weights, series, config), evaluated.Metrics);
        Assert.Null(evaluated.Skipped);

        var skipped = new FedAvg().Evaluate(Model.Round(1, config), weights, new NoData());
        Assert.Null(skipped.Metrics);
        Assert.Equal("no data here", skipped.Skipped);
    }

    [Fact]
    public void Should_report_no_loss_when_nobody_evaluated()
    {
        var summary = new FedAvg().AggregateEvaluate(Model.Round(), []);
        Assert.Null(summary.Loss);
        Assert.Null(summary.Metrics);
        Assert.Empty(summary.Evaluators);
    }

    [Theory]
    [InlineData("fedavg")]
    [InlineData("fedavgm")]
    [InlineData("fedadam")]
    [InlineData("fedmedian")]
    [InlineData("krum")]
    public void Should_leave_out_a_non_finite_update_in_every_strategy_and_keep_the_rejections_in_arrival_order(string name)
    {
        var config = RunConfig.Default with { Strategy = name, ServerMomentum = 0.5 };
        var updates = new[]
        {
            Model.Update("first", Model.Of([2f, 4f], [6f]), examples: 1),
            Model.Update("inf", Model.Of([2f, 4f], [float.NegativeInfinity]), examples: 1),
            Model.Update("short", Model.Single(1f), examples: 1),
            Model.Update("second", Model.Of([2f, 4f], [6f]), examples: 1),
        };

        var result = StrategyFactory.Create(config).AggregateTrain(Model.Round(1, config), Global, updates, null);

        Assert.Equal(["inf", "short"], result.Rejected.Take(2).Select(r => r.WorkerId));
        Assert.Equal("tensor 'b' holds -Infinity at element 0", result.Rejected[0].Reason);
        Assert.All(Model.Flat(result.Global), v => Assert.True(float.IsFinite(v)));
        Assert.DoesNotContain("inf", result.Used);
    }

    [Fact]
    public void Should_throw_when_only_non_finite_updates_remain_after_the_deferred_scan()
    {
        var updates = new[] { Model.Update("nan", Model.Of([float.NaN, 0f], [0f])), Model.Update("short", Model.Single(1f)) };

        var error = Assert.Throws<AggregationException>(() => new FedAvg().AggregateTrain(Model.Round(2), Global, updates, null));

        Assert.Equal(["nan", "short"], error.Rejected.Select(r => r.WorkerId));
        Assert.Contains("nan tensor 'w' holds NaN at element 0", error.Message);
    }

    [Fact]
    public void Should_refuse_to_publish_an_overflowed_model_from_finite_updates()
    {
        var updates = new[]
        {
            Model.Update("a", Model.Of([float.MaxValue, 0f], [0f]), examples: 1),
            Model.Update("b", Model.Of([float.MaxValue, 0f], [0f]), examples: 1),
        };
        var config = RunConfig.Default with { Strategy = "fedavgm", ServerLearningRate = 4.0 };

        var error = Assert.Throws<AggregationException>(() => StrategyFactory.Create(config).AggregateTrain(Model.Round(1, config), Global, updates, null));

        Assert.Contains("fedavgm produced a model with NaN or infinite values from finite updates", error.Message);
    }

    [Fact]
    public void Should_aggregate_fedprox_exactly_as_fedavg()
    {
        var updates = new[]
        {
            Model.Update("a", Model.Of([0.1f, 0.2f], [0.3f]), examples: 3, loss: 0.7),
            Model.Update("b", Model.Of([0.7f, 0.5f], [0.9f]), examples: 5, loss: 0.2),
        };

        var fedAvg = new FedAvg().AggregateTrain(Model.Round(), Global, updates, null);
        var fedProx = new FedProx(0.1).AggregateTrain(Model.Round(), Global, updates, null);

        Assert.Equal(Model.Flat(fedAvg.Global), Model.Flat(fedProx.Global));
        Assert.Equal(fedAvg.TrainLoss, fedProx.TrainLoss);
    }
}
