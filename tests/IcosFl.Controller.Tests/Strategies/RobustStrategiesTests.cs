using IcosFl.Contracts;
using IcosFl.Controller.Strategies;

namespace IcosFl.Controller.Tests.Strategies;

public class RobustStrategiesTests
{
    private static readonly ModelWeights Global = Model.Single(1f, 1f);

    // Five honest updates around (1, 1) and one planted outlier.
    private static readonly ClientUpdate[] WithOutlier =
    [
        Model.Update("h1", Model.Single(1.5f, 1f), examples: 1),
        Model.Update("h2", Model.Single(1f, 0.5f), examples: 1),
        Model.Update("center", Model.Single(1f, 1f), examples: 1),
        Model.Update("h3", Model.Single(0.5f, 1f), examples: 1),
        Model.Update("h4", Model.Single(1f, 1.5f), examples: 1),
        Model.Update("attacker", Model.Single(100f, -100f), examples: 1000),
    ];

    [Fact]
    public void Should_pick_the_update_closest_to_the_others_with_krum()
    {
        var strategy = StrategyFactory.Create(RunConfig.Default with { Strategy = "krum", NumMaliciousClients = 1 });

        var result = strategy.AggregateTrain(Model.Round(), Global, WithOutlier, null);

        // n - f - 2 = 3 closest: center scores 3 · 0.25 = 0.75, h1 scores 0.25 + 0.5 + 0.5 = 1.25
        Assert.Equal([1f, 1f], result.Global.Tensors[0].Data);
        Assert.Equal(["center"], result.Used);
        Assert.Equal(["h1", "h2", "h3", "h4", "attacker"], result.Rejected.Select(r => r.WorkerId));
        Assert.Contains("left out by krum: score 1.25 (sum of squared distances to its 3 closest updates) is not among the 1 lowest", result.Rejected[0].Reason);
    }

    [Fact]
    public void Should_average_the_lowest_scores_by_example_count_with_multikrum()
    {
        var updates = new[]
        {
            Model.Update("a", Model.Single(0f), examples: 3, loss: 1.0),
            Model.Update("b", Model.Single(1f), examples: 1, loss: 2.0),
            Model.Update("c", Model.Single(2.5f), examples: 1),
            Model.Update("d", Model.Single(10f), examples: 1),
        };
        var strategy = StrategyFactory.Create(RunConfig.Default with { Strategy = "multikrum", NumClientsToKeep = 2 });

        var result = strategy.AggregateTrain(Model.Round(), Model.Single(0f), updates, null);

        // Scores (2 closest): a 1 + 6.25 = 7.25, b 1 + 2.25 = 3.25, c 8.5, d 137.25 → keep b, a;
        // (3·0 + 1·1)/4 = 0.25; loss (3·1 + 1·2)/4 = 1.25
        Assert.Equal([0.25f], result.Global.Tensors[0].Data);
        Assert.Equal(["b", "a"], result.Used);
        Assert.Equal(1.25, result.TrainLoss);
        Assert.Equal(["c", "d"], result.Rejected.Select(r => r.WorkerId));
    }

    [Fact]
    public void Should_treat_krum_with_clients_to_keep_as_multikrum_like_flower()
    {
        var strategy = StrategyFactory.Create(RunConfig.Default with { Strategy = "krum", NumClientsToKeep = 5, NumMaliciousClients = 1 });

        var result = strategy.AggregateTrain(Model.Round(), Global, WithOutlier, null);

        // The five honest updates average to (1, 1) (factors 0.2 are not exact in float32); the outlier's 1000 examples do not count.
        Assert.All(result.Global.Tensors[0].Data, v => Assert.Equal(1.0, v, 1e-6));
        Assert.Equal(["attacker"], result.Rejected.Select(r => r.WorkerId));
    }

    [Fact]
    public void Should_resist_the_outlier_with_the_median()
    {
        var result = StrategyFactory.Create(RunConfig.Default with { Strategy = "fedmedian" })
            .AggregateTrain(Model.Round(), Global, WithOutlier, null);

        // x: 0.5, 1, 1, 1, 1.5, 100 → (1 + 1)/2; y: -100, 0.5, 1, 1, 1, 1.5 → (1 + 1)/2
        Assert.Equal([1f, 1f], result.Global.Tensors[0].Data);
        Assert.Equal(6, result.Used.Count);
    }

    [Fact]
    public void Should_resist_the_outlier_with_the_trimmed_mean()
    {
        var result = StrategyFactory.Create(RunConfig.Default with { Strategy = "fedtrimmedavg", TrimBeta = 0.2 })
            .AggregateTrain(Model.Round(), Global, WithOutlier, null);

        // int(0.2 · 6) = 1 cut at each end; x: mean(1, 1, 1, 1.5) = 1.125; y: mean(0.5, 1, 1, 1) = 0.875
        Assert.Equal([1.125f, 0.875f], result.Global.Tensors[0].Data);
    }

    [Fact]
    public void Should_be_dragged_by_the_outlier_with_fedavg()
    {
        var result = new FedAvg().AggregateTrain(Model.Round(), Global, WithOutlier, null);
        Assert.True(result.Global.Tensors[0].Data[0] > 90f, "FedAvg should follow the heavily weighted outlier; the robust tests mean nothing otherwise");
    }
}
