using IcosFl.Contracts;

namespace IcosFl.Contracts.Tests;

public class Rejecting_run_config
{
    private static RunConfigException Rejects(string text) =>
        Assert.Throws<RunConfigException>(() => RunConfigParser.Parse(text));

    public static TheoryData<string, string, string> InvalidValues => new()
    {
        { "num-server-rounds=0", "num-server-rounds", "run-config key 'num-server-rounds': must be an integer >= 1, got '0'" },
        { "num-server-rounds=2.5", "num-server-rounds", "run-config key 'num-server-rounds': must be an integer >= 1, got '2.5'" },
        { "num-server-rounds=ten", "num-server-rounds", "run-config key 'num-server-rounds': must be an integer >= 1, got 'ten'" },
        { "num-server-rounds=99999999999", "num-server-rounds", "run-config key 'num-server-rounds': must be an integer >= 1, got '99999999999'" },
        { "fraction-fit=2", "fraction-fit", "run-config key 'fraction-fit': must be a number in (0, 1], got '2'" },
        { "fraction-fit=0", "fraction-fit", "run-config key 'fraction-fit': must be a number in (0, 1], got '0'" },
        { "fraction-evaluate=-0.10", "fraction-evaluate", "run-config key 'fraction-evaluate': must be a number in [0, 1], got '-0.10'" },
        { "min-fit-clients=0", "min-fit-clients", "run-config key 'min-fit-clients': must be an integer >= 1, got '0'" },
        { "min-evaluate-clients=0", "min-evaluate-clients", "run-config key 'min-evaluate-clients': must be an integer >= 1, got '0'" },
        { "min-available-clients=-2", "min-available-clients", "run-config key 'min-available-clients': must be an integer >= 1, got '-2'" },
        { "hidden-layer-size=0", "hidden-layer-size", "run-config key 'hidden-layer-size': must be an integer >= 1, got '0'" },
        { "time-step=0", "time-step", "run-config key 'time-step': must be an integer >= 1, got '0'" },
        { "num-layers=0", "num-layers", "run-config key 'num-layers': must be an integer >= 1, got '0'" },
        { "batch-size=0", "batch-size", "run-config key 'batch-size': must be an integer >= 1, got '0'" },
        { "train-test-split=1", "train-test-split", "run-config key 'train-test-split': must be a number in (0, 1), got '1'" },
        { "train-test-split=0", "train-test-split", "run-config key 'train-test-split': must be a number in (0, 1), got '0'" },
        { "local-epochs=0", "local-epochs", "run-config key 'local-epochs': must be an integer >= 1, got '0'" },
        { "learning-rate=0", "learning-rate", "run-config key 'learning-rate': must be a number > 0, got '0'" },
        { "learning-rate=NaN", "learning-rate", "run-config key 'learning-rate': must be a number > 0, got 'NaN'" },
        { "learning-rate=Infinity", "learning-rate", "run-config key 'learning-rate': must be a number > 0, got 'Infinity'" },
        { "learning-rate=", "learning-rate", "run-config key 'learning-rate': must be a number > 0, got ''" },
        { "round-timeout=0", "round-timeout", "run-config key 'round-timeout': must be a number > 0, got '0'" },
        { "round-retries=-1", "round-retries", "run-config key 'round-retries': must be an integer >= 0, got '-1'" },
        { "round-retry-delay=-5", "round-retry-delay", "run-config key 'round-retry-delay': must be a number >= 0, got '-5'" },
        { "round-retry-delay=5s", "round-retry-delay", "run-config key 'round-retry-delay': must be a number >= 0, got '5s'" },
        { "round-retry-delay=NaN", "round-retry-delay", "run-config key 'round-retry-delay': must be a number >= 0, got 'NaN'" },
        { "quorum-timeout=-1", "quorum-timeout", "run-config key 'quorum-timeout': must be a number >= 0, got '-1'" },
        { "quorum-timeout=none", "quorum-timeout", "run-config key 'quorum-timeout': must be a number >= 0, got 'none'" },
        { "quorum-timeout=10m", "quorum-timeout", "run-config key 'quorum-timeout': must be a number >= 0, got '10m'" },
        { "quorum-timeout=Infinity", "quorum-timeout", "run-config key 'quorum-timeout': must be a number >= 0, got 'Infinity'" },
        { "forecast-horizon=0", "forecast-horizon", "run-config key 'forecast-horizon': must be an integer >= 1, got '0'" },
        { "seed=1.5", "seed", "run-config key 'seed': must be an integer, got '1.5'" },
        { "metric=bogus", "metric", "run-config key 'metric': 'bogus' is not one of cpu_usage, memory_usage, power_consumption" },
        { "metric=\"memory usage\"", "metric", "run-config key 'metric': 'memory usage' is not one of cpu_usage, memory_usage, power_consumption" },
        { "input-metrics=memory_usage,bogus", "input-metrics", "run-config key 'input-metrics': 'bogus' is not one of cpu_usage, memory_usage, power_consumption, got 'memory_usage,bogus'" },
        { "input-metrics=cpu_usage", "input-metrics", "run-config key 'input-metrics': 'cpu_usage' is the forecast metric (key 'metric'), which is always the model's first input; list only other metrics, got 'cpu_usage'" },
        { "metric=memory_usage input-metrics=\"power_consumption, Memory_Usage\"", "input-metrics", "run-config key 'input-metrics': 'memory_usage' is the forecast metric (key 'metric'), which is always the model's first input; list only other metrics, got 'power_consumption, Memory_Usage'" },
        { "input-metrics=memory_usage,power_consumption,memory_usage", "input-metrics", "run-config key 'input-metrics': 'memory_usage' is listed twice, got 'memory_usage,power_consumption,memory_usage'" },
        { "input-metrics=\"memory_usage,,power_consumption\"", "input-metrics", "run-config key 'input-metrics': a metric name is empty (two commas in a row, or one at an end), got 'memory_usage,,power_consumption'" },
        { "strategy=fedsgd", "strategy", "run-config key 'strategy': 'fedsgd' is not one of fedavg, fedprox, fedavgm, fedadam, fedyogi, fedadagrad, fedmedian, fedtrimmedavg, krum, multikrum" },
        { "proximal-mu=-0.5", "proximal-mu", "run-config key 'proximal-mu': must be a number >= 0, got '-0.5'" },
        { "server-learning-rate=0", "server-learning-rate", "run-config key 'server-learning-rate': must be a number > 0, got '0'" },
        { "server-momentum=1", "server-momentum", "run-config key 'server-momentum': must be a number in [0, 1), got '1'" },
        { "eta=0", "eta", "run-config key 'eta': must be a number > 0, got '0'" },
        { "eta-l=-1", "eta-l", "run-config key 'eta-l': must be a number > 0, got '-1'" },
        { "beta-1=1", "beta-1", "run-config key 'beta-1': must be a number in [0, 1), got '1'" },
        { "beta-2=-0.01", "beta-2", "run-config key 'beta-2': must be a number in [0, 1), got '-0.01'" },
        { "tau=0", "tau", "run-config key 'tau': must be a number > 0, got '0'" },
        { "trim-beta=0.5", "trim-beta", "run-config key 'trim-beta': must be a number in [0, 0.5), got '0.5'" },
        { "num-malicious-clients=-1", "num-malicious-clients", "run-config key 'num-malicious-clients': must be an integer >= 0, got '-1'" },
        { "num-clients-to-keep=-1", "num-clients-to-keep", "run-config key 'num-clients-to-keep': must be an integer >= 0, got '-1'" },
        { "max-update-norm=-1", "max-update-norm", "run-config key 'max-update-norm': must be a number >= 0, got '-1'" },
        { "clip-norm=-1", "clip-norm", "run-config key 'clip-norm': must be a number >= 0, got '-1'" },
        { "noise-multiplier=-1", "noise-multiplier", "run-config key 'noise-multiplier': must be a number >= 0, got '-1'" },
        { "noise-multiplier=1", "noise-multiplier", "run-config key 'noise-multiplier': needs clip-norm > 0 (the noise is scaled by it), got noise-multiplier=1.0 with clip-norm=0.0" },
    };

    [Theory]
    [MemberData(nameof(InvalidValues))]
    public void Should_name_the_key_and_what_it_accepts(string text, string key, string message)
    {
        var error = Rejects(text);

        Assert.Equal(key, error.Key);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Should_cover_every_key_with_an_invalid_value()
    {
        var covered = InvalidValues.Select(row => (string)row[1]).ToHashSet();

        // seed accepts every integer, so only its type can be wrong; all others have a range or a list.
        Assert.Equal(RunConfigKeys.All.Select(k => k.Name).ToHashSet(), covered);
    }

    [Theory]
    [InlineData("num-rounds", "num-server-rounds")]
    [InlineData("fraction-fti", "fraction-fit")]
    [InlineData("min_fit_client", "min-fit-clients")]
    [InlineData("lr", "learning-rate")]
    [InlineData("epochs", "local-epochs")]
    [InlineData("hidden-size", "hidden-layer-size")]
    [InlineData("beta1", "beta-1")]
    [InlineData("momentum", "server-momentum")]
    public void Should_suggest_the_closest_known_key(string typo, string suggestion)
    {
        var error = Rejects($"{typo}=3");

        Assert.Equal(typo, error.Key);
        Assert.StartsWith($"unknown run-config key '{typo}' (did you mean '{suggestion}'?); known keys: num-server-rounds, fraction-fit, ", error.Message);
        Assert.EndsWith("clip-norm, noise-multiplier", error.Message);
    }

    [Fact]
    public void Should_not_suggest_a_key_when_none_is_close()
    {
        var error = Rejects("banana=3");

        Assert.StartsWith("unknown run-config key 'banana'; known keys: num-server-rounds, ", error.Message);
    }

    [Fact]
    public void Should_reject_a_key_given_twice_in_either_spelling()
    {
        Assert.Equal("run-config key 'seed' is given twice (as 'seed' and 'seed')", Rejects("seed=1 seed=2").Message);
        var error = Rejects("num-server-rounds=1 num_server_rounds=2");
        Assert.Equal("num-server-rounds", error.Key);
        Assert.Equal("run-config key 'num-server-rounds' is given twice (as 'num-server-rounds' and 'num_server_rounds')", error.Message);
    }

    [Fact]
    public void Should_reject_entries_that_are_not_key_value()
    {
        Assert.Equal("run-config key 'num-server-rounds' has no value: write num-server-rounds=VALUE", Rejects("num-server-rounds 20").Message);
        Assert.Equal("run-config entry at character 8 has no key before '='", Rejects("seed=1 =5").Message);
        Assert.Equal("run-config key 'metric': the value's \" quote is never closed", Rejects("metric=\"memory_usage").Message);
        Assert.Equal("run-config key 'metric': unexpected 'x' after the closing quote", Rejects("metric=\"memory_usage\"x").Message);
        Assert.StartsWith("unknown run-config key 'rounds' (did you mean 'num-server-rounds'?)", Rejects("rounds").Message);
        Assert.Equal("run-config entry '5' is a number without a key: write key=VALUE, with '.' for decimals (0.5, not 0,5)", Rejects("learning-rate=0,5").Message);
    }

    [Fact]
    public void Should_reject_an_unknown_key_given_through_apply()
    {
        var error = Assert.Throws<RunConfigException>(() =>
            RunConfigParser.Apply(RunConfig.Default, [KeyValuePair.Create("num-rounds", "3")]));

        Assert.Equal("num-rounds", error.Key);
        Assert.Contains("did you mean 'num-server-rounds'?", error.Message);
    }

    [Fact]
    public void Should_list_every_problem_of_a_config_in_key_order()
    {
        var config = RunConfig.Default with { FractionFit = 2, Metric = "bogus", Beta1 = 1, NoiseMultiplier = 0.5 };

        var errors = RunConfigParser.Validate(config);

        Assert.Equal(
        [
            new RunConfigError("fraction-fit", "run-config key 'fraction-fit': must be a number in (0, 1], got '2.0'"),
            new RunConfigError("metric", "run-config key 'metric': 'bogus' is not one of cpu_usage, memory_usage, power_consumption"),
            new RunConfigError("beta-1", "run-config key 'beta-1': must be a number in [0, 1), got '1.0'"),
            new RunConfigError("noise-multiplier", "run-config key 'noise-multiplier': needs clip-norm > 0 (the noise is scaled by it), got noise-multiplier=0.5 with clip-norm=0.0"),
        ], errors);
    }

    [Fact]
    public void Should_reject_multikrum_without_clients_to_keep_and_accept_it_with_them()
    {
        var errors = RunConfigParser.Validate(RunConfig.Default with { Strategy = "multikrum" });

        Assert.Equal(
        [
            new RunConfigError("num-clients-to-keep", "run-config key 'num-clients-to-keep': strategy multikrum needs it >= 1 (how many lowest-score updates to average; krum keeps one), got 0"),
        ], errors);
        Assert.Equal("num-clients-to-keep", Assert.Throws<RunConfigException>(() => RunConfigParser.Parse("strategy=multikrum")).Key);
        Assert.Empty(RunConfigParser.Validate(RunConfigParser.Parse("strategy=MultiKrum num-clients-to-keep=2")));
        Assert.Empty(RunConfigParser.Validate(RunConfigParser.Parse("strategy=krum")));
    }

    [Fact]
    public void Should_accept_fraction_evaluate_0_as_no_federated_evaluation_as_flower_does()
    {
        Assert.Equal(0.0, RunConfigParser.Parse("fraction-evaluate=0").FractionEvaluate);
        Assert.Empty(RunConfigParser.Validate(RunConfig.Default with { FractionEvaluate = 0 }));
    }

    [Fact]
    public void Should_reject_non_finite_numbers_in_a_config_built_in_code()
    {
        var errors = RunConfigParser.Validate(RunConfig.Default with { LearningRate = double.NaN, ClipNorm = double.PositiveInfinity });

        Assert.Equal(["learning-rate", "clip-norm"], errors.Select(e => e.Key));
        Assert.Equal("run-config key 'learning-rate': must be a number > 0, got 'NaN'", errors[0].Message);
    }
}
