using IcosFl.Contracts;
using IcosFl.Controller.Strategies;

namespace IcosFl.Controller.Tests.Strategies;

public class StrategyFactoryTests
{
    [Theory]
    [InlineData("fedavg", typeof(FedAvg))]
    [InlineData("FedAvg", typeof(FedAvg))]
    [InlineData("fedprox", typeof(FedProx))]
    public void Should_build_the_named_strategy(string name, Type expected)
    {
        var strategy = StrategyFactory.Create(RunConfig.Default with { Strategy = name });
        Assert.IsType(expected, strategy);
        Assert.Equal(name.ToLowerInvariant(), strategy.Name);
    }

    [Fact]
    public void Should_refuse_an_unknown_strategy_and_list_the_known_ones()
    {
        var error = Assert.Throws<ArgumentException>(() => StrategyFactory.Create(RunConfig.Default with { Strategy = "fedsgd" }));
        Assert.Contains("Unknown strategy 'fedsgd'", error.Message);
        Assert.Contains("fedavg, fedprox", error.Message);
    }

    [Fact]
    public void Should_name_the_key_that_is_out_of_range()
    {
        var error = Assert.Throws<ArgumentException>(() => StrategyFactory.Create(RunConfig.Default with { FractionFit = 1.2 }));
        Assert.Contains("\"fraction-fit\" must be in [0, 1]; got 1.2", error.Message);
    }
}
