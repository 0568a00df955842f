using IcosFl.Contracts;
using IcosFl.Controller.Strategies;

namespace IcosFl.Controller.Tests.Strategies;

public class ClientSamplingTests
{
    private static readonly string[] Ten = Enumerable.Range(0, 10).Select(i => $"worker-{i}").ToArray();

    [Theory]
    // max(int(available x fraction), minimum), capped at available
    [InlineData(10, 1.0, 2, 10)]
    [InlineData(10, 0.5, 2, 5)]
    [InlineData(10, 0.39, 2, 3)]  // int(3.9) = 3
    [InlineData(10, 0.1, 2, 2)]   // int(1.0) = 1 < minimum 2
    [InlineData(10, 0.0, 0, 0)]
    [InlineData(3, 1.0, 5, 3)]    // minimum above available: capped
    [InlineData(0, 1.0, 2, 0)]
    public void Should_size_the_sample_as_flower_does(int available, double fraction, int minimum, int expected) =>
        Assert.Equal(expected, ClientSampling.SampleSize(available, fraction, minimum));

    [Fact]
    public void Should_sample_the_same_sorted_workers_for_the_same_seed_whatever_the_input_order()
    {
        var first = ClientSampling.Sample(Ten, 0.5, 2, seed: 1234);
        var again = ClientSampling.Sample(Ten.Reverse().ToArray(), 0.5, 2, seed: 1234);

        Assert.Equal(5, first.Count);
        Assert.Equal(first, again);
        Assert.Equal(first.Order(StringComparer.Ordinal), first);
        Assert.Equal(5, first.Distinct().Count());
        Assert.All(first, id => Assert.Contains(id, Ten));
    }

    [Fact]
    public void Should_draw_different_samples_for_different_seeds()
    {
        var samples = Enumerable.Range(0, 20).Select(seed => string.Join(",", ClientSampling.Sample(Ten, 0.3, 2, seed))).ToHashSet();
        Assert.True(samples.Count > 10, $"only {samples.Count} distinct samples from 20 seeds");
    }

    [Fact]
    public void Should_reach_every_worker_over_many_rounds()
    {
        var config = RunConfig.Default with { FractionFit = 0.2, MinFitClients = 1 };
        var strategy = new FedAvg();
        var picked = Enumerable.Range(1, 50).SelectMany(r => strategy.ConfigureTrain(Model.Round(r, config), Ten)).ToHashSet();
        Assert.Equal(Ten.Order(), picked.Order());
    }

    [Fact]
    public void Should_sample_training_from_the_rounds_seed()
    {
        var config = RunConfig.Default with { FractionFit = 0.5, MinFitClients = 2 };
        var round = Model.Round(4, config);

        var sampled = new FedAvg().ConfigureTrain(round, Ten);

        Assert.Equal(ClientSampling.Sample(Ten, 0.5, 2, round.SamplingSeed), sampled);
        Assert.Equal(sampled, new FedAvg().ConfigureTrain(Model.Round(4, config), Ten));
    }

    [Fact]
    public void Should_not_evaluate_when_fraction_evaluate_is_zero()
    {
        var config = RunConfig.Default with { FractionEvaluate = 0.0, MinEvaluateClients = 2 };
        Assert.Empty(new FedAvg().ConfigureEvaluate(Model.Round(1, config), Ten));
    }

    [Fact]
    public void Should_not_evaluate_when_fewer_than_min_evaluate_clients_are_available()
    {
        var config = RunConfig.Default with { FractionEvaluate = 1.0, MinEvaluateClients = 11 };
        Assert.Empty(new FedAvg().ConfigureEvaluate(Model.Round(1, config), Ten));
        Assert.Equal(Ten.Length, new FedAvg().ConfigureEvaluate(Model.Round(1, config with { MinEvaluateClients = 10 }), Ten).Count);
    }

    [Fact]
    public void Should_sample_evaluation_with_flowers_size_and_a_stable_draw()
    {
        var config = RunConfig.Default with { FractionEvaluate = 0.25, MinEvaluateClients = 3 };
        var strategy = new FedAvg();

        var sampled = strategy.ConfigureEvaluate(Model.Round(2, config), Ten);

        Assert.Equal(3, sampled.Count); // max(int(2.5), 3)
        Assert.Equal(sampled, strategy.ConfigureEvaluate(Model.Round(2, config), Ten));
    }

    [Fact]
    public void Should_ignore_duplicate_ids_and_refuse_a_fraction_outside_zero_to_one()
    {
        Assert.Equal(["a", "b"], ClientSampling.Sample(["b", "a", "b", "a"], 1.0, 2, 7));
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ClientSampling.Sample(Ten, 1.5, 2, 7));
        Assert.Contains("[0, 1]", error.Message);
    }
}
