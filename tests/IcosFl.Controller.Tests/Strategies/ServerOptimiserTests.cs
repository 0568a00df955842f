using IcosFl.Contracts;
using IcosFl.Controller.Strategies;

namespace IcosFl.Controller.Tests.Strategies;

/// <summary>
/// The stateful strategies over three rounds, carrying server state from round to round as the controller
/// does. Expected numbers come from Flower's update rules run on float32 numpy (flower_reference.py
/// beside this file); each round has one update = global + delta, so the FedAvg step is that update.
/// </summary>
public class ServerOptimiserTests
{
    private const double Tolerance = 1e-6;
    private static readonly float[][] Deltas = [[0.5f, -1.0f], [0.25f, 0.5f], [-0.5f, 0.125f]];
    private static readonly RunConfig Config = RunConfig.Default; // eta 0.1, beta-1 0.9, beta-2 0.99, tau 0.001

    private static List<AggregationResult> RunRounds(IStrategy strategy)
    {
        var global = Model.Single(1.0f, 0.0f);
        ModelWeights? state = null;
        var results = new List<AggregationResult>();
        for (var r = 0; r < Deltas.Length; r++)
        {
            var update = Model.Single(global.Tensors[0].Data[0] + Deltas[r][0], global.Tensors[0].Data[1] + Deltas[r][1]);
            var result = strategy.AggregateTrain(Model.Round(r + 1, Config), global, [Model.Update("w", update, examples: 7)], state);
            results.Add(result);
            global = result.Global;
            state = result.ServerState;
        }

        return results;
    }

    private static void AssertClose(double[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tolerance, $"element {i}: expected {expected[i]}, got {actual[i]}");
        }
    }

    private static float[] State(AggregationResult result, string name) => result.ServerState![name]!.Data;

    [Fact]
    public void Should_follow_flowers_fedadam_over_three_rounds()
    {
        var results = RunRounds(StrategyFactory.Create(Config with { Strategy = "fedadam" }));

        // Round 1 by hand: Δ = [0.5, -1]; m = 0.1Δ = [0.05, -0.1]; v = 0.01Δ² = [0.0025, 0.01];
        // step = 0.1·√(1 - 0.99²)/(1 - 0.9²) = 0.0742460; w = 1 + step·0.05/(0.05 + 0.001) = 1.0727901
        AssertClose([1.0727901458740234, -0.07351087033748627], results[0].Global.Tensors[0].Data);
        AssertClose([0.05, -0.1], State(results[0], "m/w"));
        AssertClose([0.0025, 0.01], State(results[0], "v/w"));
        AssertClose([1.1513322591781616, -0.0961511954665184], results[1].Global.Tensors[0].Data);
        AssertClose([1.1612545251846313, -0.10820858180522919], results[2].Global.Tensors[0].Data);
        AssertClose([0.013000000268220901, -0.023499995470046997], State(results[2], "m/w"));
        AssertClose([0.005568999797105789, 0.012432249262928963], State(results[2], "v/w"));
    }

    [Fact]
    public void Should_follow_flowers_fedyogi_over_three_rounds()
    {
        var results = RunRounds(StrategyFactory.Create(Config with { Strategy = "fedyogi" }));

        // Round 1 by hand: v = 0 - 0.01·Δ²·sign(0 - Δ²) = 0.01Δ²; w = 1 + 0.1·0.05/0.051 = 1.0980392
        AssertClose([1.0980392694473267, -0.09900990128517151], results[0].Global.Tensors[0].Data);
        AssertClose([1.2210584878921509, -0.13446982204914093], results[1].Global.Tensors[0].Data);
        AssertClose([0.003124999813735485, 0.01249999925494194], State(results[1], "v/w"));
        AssertClose([1.238163709640503, -0.15517465770244598], results[2].Global.Tensors[0].Data);
        AssertClose([0.005624999757856131, 0.012656249105930328], State(results[2], "v/w"));
    }

    [Fact]
    public void Should_follow_flowers_fedadagrad_with_beta_1_fixed_at_zero()
    {
        var results = RunRounds(StrategyFactory.Create(Config with { Strategy = "fedadagrad", Beta1 = 0.9 }));

        // Round 1 by hand: m = Δ; v = Δ² = [0.25, 1]; w = 1 + 0.1·0.5/(0.5 + 0.001) = 1.0998004
        AssertClose([1.0998003482818604, -0.09990009665489197], results[0].Global.Tensors[0].Data);
        AssertClose([0.5, -1.0], State(results[0], "m/w"));
        AssertClose([1.144441843032837, -0.05521870404481888], results[1].Global.Tensors[0].Data);
        AssertClose([1.0778639316558838, -0.044117461889982224], results[2].Global.Tensors[0].Data);
        AssertClose([-0.5, 0.125], State(results[2], "m/w"));
        AssertClose([0.5625, 1.265625], State(results[2], "v/w"));
    }

    [Fact]
    public void Should_follow_flowers_fedavgm_over_three_rounds()
    {
        var strategy = StrategyFactory.Create(Config with { Strategy = "fedavgm", ServerLearningRate = 0.5, ServerMomentum = 0.5 });
        var results = RunRounds(strategy);

        // By hand: r1 g = -Δ = [-0.5, 1] = momentum, w = [1, 0] - 0.5·[-0.5, 1] = [1.25, -0.5];
        // r2 g = [-0.25, -0.5], momentum = 0.5·[-0.5, 1] + g = [-0.5, 0], w = [1.5, -0.5];
        // r3 g = [0.5, -0.125], momentum = [0.25, -0.125], w = [1.375, -0.4375]
        Assert.Equal([1.25f, -0.5f], results[0].Global.Tensors[0].Data);
        Assert.Equal([-0.5f, 1.0f], State(results[0], "momentum/w"));
        Assert.Equal([1.5f, -0.5f], results[1].Global.Tensors[0].Data);
        Assert.Equal([-0.5f, 0.0f], State(results[1], "momentum/w"));
        Assert.Equal([1.375f, -0.4375f], results[2].Global.Tensors[0].Data);
        Assert.Equal([0.25f, -0.125f], State(results[2], "momentum/w"));
        Assert.Equal([2], results[2].ServerState!["momentum/w"]!.Shape);
    }

    [Fact]
    public void Should_be_fedavg_without_state_when_fedavgm_has_no_momentum_and_rate_one()
    {
        var strategy = StrategyFactory.Create(Config with { Strategy = "fedavgm", ServerLearningRate = 1.0, ServerMomentum = 0.0 });
        var global = Model.Single(1f, 1f);
        var updates = new[] { Model.Update("a", Model.Single(2f, 4f)), Model.Update("b", Model.Single(4f, 8f)) };

        var result = strategy.AggregateTrain(Model.Round(), global, updates, null);

        Assert.Equal([3f, 6f], result.Global.Tensors[0].Data);
        Assert.Null(result.ServerState);
    }

    [Fact]
    public void Should_take_a_plain_server_step_without_state_when_fedavgm_has_no_momentum()
    {
        var strategy = StrategyFactory.Create(Config with { Strategy = "fedavgm", ServerLearningRate = 0.5, ServerMomentum = 0.0 });

        var result = strategy.AggregateTrain(Model.Round(), Model.Single(1f, 1f), [Model.Update("a", Model.Single(3f, 0f))], null);

        Assert.Equal([2f, 0.5f], result.Global.Tensors[0].Data); // 1 - 0.5·(1 - 3), 1 - 0.5·(1 - 0)
        Assert.Null(result.ServerState);
    }

    [Fact]
    public void Should_carry_on_from_persisted_state_as_if_never_stopped()
    {
        var strategy = StrategyFactory.Create(Config with { Strategy = "fedadam" });
        var uninterrupted = RunRounds(strategy);

        // A "restarted controller": a new strategy instance gets round 2's model and state back.
        var restarted = StrategyFactory.Create(Config with { Strategy = "fedadam" });
        var global = uninterrupted[1].Global;
        var state = new ModelWeights(uninterrupted[1].ServerState!.Tensors.Select(t => t with { Data = (float[])t.Data.Clone() }).ToArray());
        var update = Model.Single(global.Tensors[0].Data[0] + Deltas[2][0], global.Tensors[0].Data[1] + Deltas[2][1]);
        var round3 = restarted.AggregateTrain(Model.Round(3, Config), global, [Model.Update("w", update)], state);

        Assert.Equal(uninterrupted[2].Global.Tensors[0].Data, round3.Global.Tensors[0].Data);
        Assert.Equal(["m/w", "v/w"], round3.ServerState!.Tensors.Select(t => t.Name));
    }

    [Fact]
    public void Should_refuse_server_state_that_does_not_fit_the_model()
    {
        var strategy = StrategyFactory.Create(Config with { Strategy = "fedadam" });
        var foreign = new ModelWeights([new NamedTensor("momentum/w", [2], [0f, 0f])]);

        var error = Assert.Throws<AggregationException>(() =>
            strategy.AggregateTrain(Model.Round(), Model.Single(1f, 1f), [Model.Update("a", Model.Single(2f, 2f))], foreign));

        Assert.Contains("fedadam server state does not fit the model: it needs 'm/w' with 2 values, found none", error.Message);
        Assert.Contains("momentum/w", error.Message);
    }

    [Fact]
    public void Should_name_state_tensors_after_every_model_tensor()
    {
        var strategy = StrategyFactory.Create(Config with { Strategy = "fedyogi" });
        var global = new ModelWeights(
        [
            new NamedTensor("lstm.weight_ih_l0", [2, 2], [1f, 2f, 3f, 4f]),
            new NamedTensor("linear.bias", [1], [0f]),
        ]);
        var update = new ModelWeights(global.Tensors.Select(t => t with { Data = t.Data.Select(v => v + 1f).ToArray() }).ToArray());

        var result = strategy.AggregateTrain(Model.Round(), global, [Model.Update("a", update)], null);

        Assert.Equal(["m/lstm.weight_ih_l0", "m/linear.bias", "v/lstm.weight_ih_l0", "v/linear.bias"], result.ServerState!.Tensors.Select(t => t.Name));
        Assert.Equal([2, 2], result.ServerState!["v/lstm.weight_ih_l0"]!.Shape);
    }
}
