using System.Globalization;
using IcosFl.Contracts;

namespace IcosFl.Contracts.Tests;

public class Parsing_run_config
{
    [Fact]
    public void Should_default_to_icos_fl_values()
    {
        var d = RunConfig.Default;

        // ICOS-FL's pyproject run-config.
        Assert.Equal(10, d.NumServerRounds);
        Assert.Equal(1.0, d.FractionFit);
        Assert.Equal(1.0, d.FractionEvaluate);
        Assert.Equal(2, d.MinFitClients);
        Assert.Equal(2, d.MinEvaluateClients);
        Assert.Equal(2, d.MinAvailableClients);
        Assert.Equal(10, d.HiddenLayerSize);
        Assert.Equal(10, d.TimeStep);
        Assert.Equal(1, d.NumLayers);
        Assert.Equal("cpu_usage", d.Metric);
        Assert.Equal(64, d.BatchSize);
        Assert.Equal(0.8, d.TrainTestSplit);
        Assert.Equal(0.001, d.LearningRate);
        // The one deliberate difference: ICOS-FL documents 100 local epochs; 5 keeps the default simulation quick.
        Assert.Equal(5, d.LocalEpochs);
        // Flower's strategy defaults.
        Assert.Equal("fedavg", d.Strategy);
        Assert.Equal((1.0, 0.0), (d.ServerLearningRate, d.ServerMomentum));
        Assert.Equal((0.1, 0.1, 0.9, 0.99, 0.001), (d.Eta, d.EtaL, d.Beta1, d.Beta2, d.Tau));
        Assert.Equal(0.2, d.TrimBeta);
        Assert.Empty(RunConfigParser.Validate(d));
    }

    [Fact]
    public void Should_list_the_defaults_as_invariant_strings()
    {
        var expected = new Dictionary<string, string>
        {
            ["num-server-rounds"] = "10", ["fraction-fit"] = "1.0", ["fraction-evaluate"] = "1.0",
            ["min-fit-clients"] = "2", ["min-evaluate-clients"] = "2", ["min-available-clients"] = "2",
            ["hidden-layer-size"] = "10", ["time-step"] = "10", ["num-layers"] = "1", ["metric"] = "cpu_usage",
            ["input-metrics"] = "", ["batch-size"] = "64", ["train-test-split"] = "0.8", ["local-epochs"] = "5", ["learning-rate"] = "0.001",
            ["round-timeout"] = "120.0", ["round-retries"] = "3", ["round-retry-delay"] = "5.0", ["quorum-timeout"] = "600.0", ["seed"] = "42", ["forecast-horizon"] = "100", ["strategy"] = "fedavg",
            ["proximal-mu"] = "0.0", ["server-learning-rate"] = "1.0", ["server-momentum"] = "0.0", ["eta"] = "0.1",
            ["eta-l"] = "0.1", ["beta-1"] = "0.9", ["beta-2"] = "0.99", ["tau"] = "0.001", ["trim-beta"] = "0.2",
            ["num-malicious-clients"] = "0", ["num-clients-to-keep"] = "0", ["max-update-norm"] = "0.0",
            ["clip-norm"] = "0.0", ["noise-multiplier"] = "0.0",
        };

        var actual = RunConfigParser.ToDictionary(RunConfig.Default);

        Assert.Equal(expected.Keys, actual.Keys); // same order as RunConfig's properties
        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData("input-metrics=memory_usage,power_consumption")]
    [InlineData("input-metrics=\"memory_usage, power_consumption\"")]
    [InlineData("input_metrics='Memory_Usage,POWER_CONSUMPTION'")]
    [InlineData("num-server-rounds=3, input-metrics=memory_usage,power_consumption, seed=7")]
    public void Should_read_input_metrics_as_an_ordered_list_in_canonical_spelling(string text)
    {
        var config = RunConfigParser.Parse(text);

        Assert.Equal("memory_usage,power_consumption", config.InputMetrics);
        Assert.Equal(["memory_usage", "power_consumption"], config.ExtraInputMetrics());
        Assert.Equal(["cpu_usage", "memory_usage", "power_consumption"], config.InputFeatures());
        Assert.Equal(config, RunConfigParser.Parse(string.Join(" ", RunConfigParser.ToDictionary(config).Select(p => $"{p.Key}={p.Value}"))));
    }

    [Fact]
    public void Should_keep_a_model_univariate_when_input_metrics_is_empty()
    {
        Assert.Equal(["cpu_usage"], RunConfig.Default.InputFeatures());
        Assert.Empty(RunConfigParser.Parse("input-metrics=\"\"").ExtraInputMetrics());
        Assert.Equal(RunConfig.Default, RunConfigParser.Parse("input-metrics="));
    }

    [Fact]
    public void Should_apply_entries_on_top_of_the_defaults()
    {
        var config = RunConfigParser.Parse("num-server-rounds=20 metric=memory_usage");

        Assert.Equal(RunConfig.Default with { NumServerRounds = 20, Metric = Metrics.MemoryUsage }, config);
    }

    [Theory]
    [InlineData("num-server-rounds=20,fraction-fit=0.5,learning-rate=1e-4")]
    [InlineData("num-server-rounds=20, fraction-fit=0.5, learning-rate=1e-4")]
    [InlineData("num-server-rounds = 20\nfraction-fit = 0.5\r\nlearning-rate = 0.0001\n")]
    [InlineData("# from pyproject\nnum-server-rounds = 20  # rounds\n\tfraction-fit=0.5 learning-rate=+1E-4")]
    public void Should_accept_whitespace_commas_and_newlines_between_entries(string text)
    {
        var config = RunConfigParser.Parse(text);

        Assert.Equal(RunConfig.Default with { NumServerRounds = 20, FractionFit = 0.5, LearningRate = 0.0001 }, config);
    }

    [Theory]
    [InlineData("metric=\"memory_usage\"", "memory_usage")]
    [InlineData("metric='power_consumption'", "power_consumption")]
    [InlineData("metric = \"cpu_usage\", strategy=fedavg", "cpu_usage")]
    [InlineData("metric=\"Memory_Usage\"", "memory_usage")]
    public void Should_accept_toml_quoted_values(string text, string metric)
    {
        Assert.Equal(metric, RunConfigParser.Parse(text).Metric);
    }

    [Fact]
    public void Should_accept_quoted_numbers_and_canonicalise_strategy_names()
    {
        var config = RunConfigParser.Parse("num-server-rounds=\"7\" strategy='FedProx' proximal-mu=\"0.01\"");

        Assert.Equal(RunConfig.Default with { NumServerRounds = 7, Strategy = Strategies.FedProx, ProximalMu = 0.01 }, config);
    }

    [Fact]
    public void Should_accept_snake_case_aliases()
    {
        var config = RunConfigParser.Parse("num_server_rounds=3 Fraction_Fit=0.25 eta_l=0.5 beta_1=0.8");

        Assert.Equal(RunConfig.Default with { NumServerRounds = 3, FractionFit = 0.25, EtaL = 0.5, Beta1 = 0.8 }, config);
    }

    [Fact]
    public void Should_keep_the_base_config_for_keys_not_given()
    {
        var baseConfig = RunConfig.Default with { NumServerRounds = 3, Strategy = Strategies.Krum };

        Assert.Equal(baseConfig with { Seed = 7 }, RunConfigParser.Parse("seed=7", baseConfig));
        Assert.Same(baseConfig, RunConfigParser.Parse("  \n ", baseConfig));
        Assert.Same(RunConfig.Default, RunConfigParser.Parse(null));
    }

    [Fact]
    public void Should_read_and_write_numbers_in_the_invariant_culture_whatever_the_current_one()
    {
        var before = CultureInfo.CurrentCulture;
        var commaDecimals = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        commaDecimals.NumberFormat.NumberDecimalSeparator = ",";
        commaDecimals.NumberFormat.NegativeSign = "~";
        try
        {
            CultureInfo.CurrentCulture = commaDecimals;

            var config = RunConfigParser.Parse("learning-rate=0.5 seed=-3");

            Assert.Equal((0.5, -3), (config.LearningRate, config.Seed));
            Assert.Equal("0.5", RunConfigParser.ToDictionary(config)["learning-rate"]);
            Assert.Equal("-3", RunConfigParser.ToDictionary(config)["seed"]);
        }
        finally
        {
            CultureInfo.CurrentCulture = before;
        }
    }

    [Fact]
    public void Should_round_trip_every_key_through_its_dictionary()
    {
        var config = new RunConfig
        {
            NumServerRounds = 3, FractionFit = 0.3, FractionEvaluate = 0.7, MinFitClients = 4, MinEvaluateClients = 5,
            MinAvailableClients = 6, HiddenLayerSize = 32, TimeStep = 24, NumLayers = 2, Metric = Metrics.PowerConsumption,
            BatchSize = 128, TrainTestSplit = 0.75, LocalEpochs = 9, LearningRate = 1e-5, RoundTimeout = 0.1 + 0.2,
            RoundRetries = 0, Seed = -17, Strategy = Strategies.FedYogi, ProximalMu = 0.01, ServerLearningRate = 0.5,
            ServerMomentum = 0.9, Eta = 0.01, EtaL = 0.02, Beta1 = 0.8, Beta2 = 0.999, Tau = 1e-9, TrimBeta = 0.1,
            NumMaliciousClients = 1, NumClientsToKeep = 2, MaxUpdateNorm = 10, ClipNorm = 1.5, NoiseMultiplier = 0.3,
        };

        var text = string.Join(" ", RunConfigParser.ToDictionary(config).Select(kv => $"{kv.Key}={kv.Value}"));

        Assert.Equal(config, RunConfigParser.Parse(text));
        Assert.Contains("learning-rate=1E-05", text);
        Assert.Contains("round-timeout=0.30000000000000004", text);
    }

    [Fact]
    public void Should_apply_pairs_without_range_checks()
    {
        var config = RunConfigParser.Apply(RunConfig.Default, [KeyValuePair.Create("fraction_fit", "2"), KeyValuePair.Create("metric", "\"memory_usage\"")]);

        Assert.Equal(RunConfig.Default with { FractionFit = 2, Metric = Metrics.MemoryUsage }, config);
        Assert.Equal([new RunConfigError("fraction-fit", "run-config key 'fraction-fit': must be a number in (0, 1], got '2.0'")], RunConfigParser.Validate(config));
    }

    [Fact]
    public void Should_read_the_retry_delay_and_quorum_timeout_with_0_for_at_once_and_without_limit()
    {
        var config = RunConfigParser.Parse("round-retry-delay=2.5 quorum-timeout=0");
        Assert.Equal(2.5, config.RoundRetryDelay);
        Assert.Equal(0, config.QuorumTimeout);
        Assert.Equal(0, RunConfigParser.Parse("round_retry_delay=0").RetryDelayBefore(2));
    }

    [Theory]
    [InlineData(5, 1, 0)] // a first attempt waits for nothing
    [InlineData(5, 2, 5)]
    [InlineData(5, 3, 10)]
    [InlineData(5, 4, 20)]
    [InlineData(5, 5, 40)]
    [InlineData(5, 6, 60)] // capped at 60 s
    [InlineData(5, 1000, 60)]
    [InlineData(90, 2, 90)] // a delay above the cap is kept, never doubled
    [InlineData(90, 5, 90)]
    [InlineData(0.5, 3, 1)]
    public void Should_double_the_retry_delay_per_retry_up_to_60_s(double delay, int attempt, double expected) =>
        Assert.Equal(expected, (RunConfig.Default with { RoundRetryDelay = delay }).RetryDelayBefore(attempt));
}
