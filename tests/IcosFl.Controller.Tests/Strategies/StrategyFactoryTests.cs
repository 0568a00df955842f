using IcosFl.Contracts;
using IcosFl.Controller.Strategies;

namespace IcosFl.Controller.Tests.Strategies;

public class StrategyFactoryTests
{
    [Theory]
    [InlineData("fedavg", typeof(FedAvg))]
    [InlineData("FedAvg", typeof(FedAvg))]
    [InlineData("fedprox", typeof(FedProx))]
    [InlineData("fedavgm", typeof(FedAvgM))]
    [InlineData("fedadam", typeof(FedAdam))]
    [InlineData("fedyogi", typeof(FedYogi))]
    [InlineData("fedadagrad", typeof(FedAdagrad))]
    [InlineData("fedmedian", typeof(FedMedian))]
    [InlineData("fedtrimmedavg", typeof(FedTrimmedAvg))]
    [InlineData("krum", typeof(Krum))]
    [InlineData("multikrum", typeof(MultiKrum))]
    public void Should_build_the_named_strategy(string name, Type expected)
    {
        // As an operator writes it: the parser takes the name in any letter case.
        var strategy = StrategyFactory.Create(RunConfigParser.Parse($"strategy={name} num-clients-to-keep=2"));
        Assert.IsType(expected, strategy);
        Assert.Equal(name.ToLowerInvariant(), strategy.Name);
    }

    [Fact]
    public void Should_build_every_strategy_the_contracts_name() =>
        Assert.All(IcosFl.Contracts.Strategies.All, name =>
            Assert.Equal(name, StrategyFactory.Create(RunConfig.Default with { Strategy = name, NumClientsToKeep = 1 }).Name));

    [Fact]
    public void Should_pass_the_strategy_keys_on()
    {
        var config = RunConfig.Default with
        {
            ServerLearningRate = 0.7, ServerMomentum = 0.9, Eta = 0.01, EtaL = 0.0316, Beta1 = 0.8, Beta2 = 0.95, Tau = 1e-9,
            TrimBeta = 0.1, NumMaliciousClients = 2, NumClientsToKeep = 3, ProximalMu = 0.01,
        };
        StrategyFactory.Create(config with { Strategy = "fedprox" }).ShouldBe<FedProx>(s => Assert.Equal(0.01, s.ProximalMu));
        StrategyFactory.Create(config with { Strategy = "fedavgm" }).ShouldBe<FedAvgM>(s =>
        {
            Assert.Equal(0.7, s.ServerLearningRate);
            Assert.Equal(0.9, s.ServerMomentum);
        });
        StrategyFactory.Create(config with { Strategy = "fedyogi" }).ShouldBe<FedYogi>(s =>
            Assert.Equal((0.01, 0.0316, 0.8, 0.95, 1e-9), (s.Eta, s.EtaL, s.Beta1, s.Beta2, s.Tau)));
        StrategyFactory.Create(config with { Strategy = "fedadagrad" }).ShouldBe<FedAdagrad>(s =>
            Assert.Equal((0.0, 0.0), (s.Beta1, s.Beta2)));
        StrategyFactory.Create(config with { Strategy = "fedtrimmedavg" }).ShouldBe<FedTrimmedAvg>(s => Assert.Equal(0.1, s.TrimBeta));
        StrategyFactory.Create(config with { Strategy = "multikrum" }).ShouldBe<MultiKrum>(s =>
            Assert.Equal((2, 3), (s.NumMaliciousClients, s.NumClientsToKeep)));
    }

    [Fact]
    public void Should_wrap_in_server_side_clipping_when_clip_norm_is_set()
    {
        var strategy = StrategyFactory.Create(RunConfig.Default with { Strategy = "fedmedian", ClipNorm = 3, NoiseMultiplier = 0.5 });

        var wrapper = Assert.IsType<DifferentialPrivacyServerSideFixedClipping>(strategy);
        Assert.IsType<FedMedian>(wrapper.Inner);
        Assert.Equal((3.0, 0.5), (wrapper.ClipNorm, wrapper.NoiseMultiplier));
    }

    [Fact]
    public void Should_refuse_an_unknown_strategy_and_list_the_known_ones()
    {
        var error = Assert.Throws<ArgumentException>(() => StrategyFactory.Create(RunConfig.Default with { Strategy = "fedsgd" }));
        Assert.Contains("run-config key 'strategy': 'fedsgd' is not one of", error.Message);
        Assert.Contains("fedavg, fedprox, fedavgm, fedadam, fedyogi, fedadagrad, fedmedian, fedtrimmedavg, krum, multikrum", error.Message);
    }

    [Theory]
    [InlineData("fraction-fit", "must be a number in (0, 1], got '1.2'")]
    [InlineData("trim-beta", "must be a number in [0, 0.5), got '0.5'")]
    [InlineData("beta-1", "must be a number in [0, 1), got '1.0'")]
    [InlineData("tau", "must be a number > 0, got '0.0'")]
    [InlineData("server-momentum", "must be a number in [0, 1), got '-0.1'")]
    [InlineData("num-malicious-clients", "must be an integer >= 0, got '-1'")]
    [InlineData("num-clients-to-keep", "strategy multikrum needs it >= 1")]
    public void Should_refuse_what_the_run_config_validator_refuses_naming_the_key(string key, string message)
    {
        var config = key switch
        {
            "fraction-fit" => RunConfig.Default with { FractionFit = 1.2 },
            "trim-beta" => RunConfig.Default with { Strategy = "fedtrimmedavg", TrimBeta = 0.5 },
            "beta-1" => RunConfig.Default with { Strategy = "fedadam", Beta1 = 1.0 },
            "tau" => RunConfig.Default with { Strategy = "fedyogi", Tau = 0 },
            "server-momentum" => RunConfig.Default with { Strategy = "fedavgm", ServerMomentum = -0.1 },
            "num-malicious-clients" => RunConfig.Default with { Strategy = "krum", NumMaliciousClients = -1 },
            _ => RunConfig.Default with { Strategy = "multikrum", NumClientsToKeep = 0 },
        };

        var error = Assert.Throws<ArgumentException>(() => StrategyFactory.Create(config));

        Assert.Contains($"run-config key '{key}'", error.Message);
        Assert.Contains(message, error.Message);
        Assert.Equal(RunConfigParser.Validate(config).Select(e => e.Key), [key]);
    }
}

internal static class StrategyAssertions
{
    public static void ShouldBe<T>(this IStrategy strategy, Action<T> check) => check(Assert.IsType<T>(strategy));
}
