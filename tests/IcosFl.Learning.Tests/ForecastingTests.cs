using IcosFl.Contracts;

namespace IcosFl.Learning.Tests;

/// <summary>Multi-step forecasts, their baselines and the per-horizon evaluation, on exact small series.</summary>
public sealed class ForecastingTests
{
    [Fact]
    public void Persistence_and_seasonal_naive_repeat_the_right_past_values()
    {
        float[] series = [10, 11, 12, 13, 14, 15, 16, 17];
        Assert.Equal(15f, Baselines.Persistence(series, 5));
        // period 3, origin 5: steps 1..3 repeat indices 3, 4, 5; steps 4..6 the same again.
        Assert.Equal([13f, 14f, 15f, 13f, 14f, 15f], Enumerable.Range(1, 6).Select(h => Baselines.SeasonalNaive(series, 5, h, 3)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Baselines.SeasonalNaive(series, 1, 1, 3));
    }

    [Fact]
    public void The_season_of_a_periodic_series_is_found_and_noise_has_none()
    {
        var periodic = Enumerable.Range(0, 400).Select(t => (float)Math.Sin(2 * Math.PI * t / 25)).ToArray();
        Assert.Equal(25, SeasonalPeriod.Estimate(periodic, 200));
        var random = new Random(1);
        var noise = Enumerable.Range(0, 400).Select(_ => (float)random.NextDouble()).ToArray();
        Assert.Null(SeasonalPeriod.Estimate(noise, 200));
        Assert.Null(SeasonalPeriod.Estimate(new float[50], 25)); // constant: no variance
    }

    [Fact]
    public void Recursive_forecasts_have_one_value_per_window_and_step()
    {
        // A model whose change is always its linear bias (all other weights 0): each step adds it to the one before.
        var config = RunConfig.Default with { HiddenLayerSize = 2, TimeStep = 3, ForecastHorizon = 1 };
        var weights = Zero(config, bias: 0.25f);
        using var model = new LstmForecaster(2, 1);
        model.LoadWeights(weights);
        var forecasts = MultiStepForecast.Recursive(model, [0, 0.5f, 1, 1, 1, 1], count: 2, timeStep: 3, horizon: 4);
        Assert.Equal([1.25f, 1.5f, 1.75f, 2f, 1.25f, 1.5f, 1.75f, 2f], forecasts);
        Assert.Throws<ArgumentException>(() => MultiStepForecast.Recursive(model, [0, 1], 1, 3, 4));
    }

    [Fact]
    public void The_direct_head_gives_its_steps_at_once_and_recurses_block_by_block_beyond_them()
    {
        // Two outputs whose changes are the biases 0.1 and 0.3 (all other weights 0), five steps from last value 1:
        // block 1 is 1.1, 1.3; the window then ends at 1.3, so block 2 is 1.4, 1.6; block 3 (one step) 1.7.
        var weights = new ModelWeights(LstmLayout.Tensors(2, 1, 1, 2)
            .Select(s => new NamedTensor(s.Name, s.Shape, s.Name == "linear.bias" ? [0.1f, 0.3f] : new float[s.ElementCount]))
            .ToList());
        using var model = new LstmForecaster(2, 1, 1, 2);
        model.LoadWeights(weights);
        var forecasts = MultiStepForecast.Recursive(model, [0, 0.5f, 1], count: 1, timeStep: 3, horizon: 5);
        Assert.Equal([1.1f, 1.3f, 1.4f, 1.6f, 1.7f], forecasts.Select(v => MathF.Round(v, 5)));
    }

    [Fact]
    public void The_evaluation_scores_every_step_ahead_against_both_baselines_in_the_metric_units()
    {
        // 0..9 repeating (period 10), 100 points; split 0.8 -> train 80 (scaler 0..9), test 20.
        var series = Enumerable.Range(0, 100).Select(t => (float)(t % 10)).ToArray();
        var config = RunConfig.Default with { HiddenLayerSize = 2, TimeStep = 3, ForecastHorizon = 5 };
        // Every weight 0: the model forecasts no change, i.e. persistence.
        var result = HorizonEvaluation.Evaluate(Zero(config, bias: 0f), series, config);

        // Origins 82..94: 13 forecasts of 5 steps each.
        Assert.Equal(13, result.Origins);
        Assert.Equal(10, result.SeasonPeriod);
        Assert.Equal(5, result.ByHorizon.Count);
        for (int h = 1; h <= 5; h++)
        {
            var actual = Enumerable.Range(82, 13).Select(o => (double)((o + h) % 10)).ToArray();
            var persistence = Enumerable.Range(82, 13).Select(o => (double)(o % 10)).ToArray();
            var e = result.At(h);
            Assert.Equal(Math.Sqrt(actual.Zip(persistence).Average(p => (p.Second - p.First) * (p.Second - p.First))), e.Rmse, 5);
            Assert.Equal(actual.Zip(persistence).Average(p => Math.Abs(p.Second - p.First)), e.Mae, 5);
            Assert.Equal(Math.Sqrt(actual.Zip(persistence).Average(p => (p.Second - p.First) * (p.Second - p.First))), e.PersistenceRmse, 10);
            Assert.Equal(0.0, e.SeasonalRmse); // a perfectly periodic series: seasonal naive is exact
        }
    }

    [Fact]
    public void Too_short_a_test_part_for_the_horizon_is_named()
    {
        var config = RunConfig.Default with { HiddenLayerSize = 2, TimeStep = 3, ForecastHorizon = 20 };
        var series = Enumerable.Range(0, 100).Select(t => (float)t).ToArray();
        var e = Assert.Throws<InsufficientDataException>(() => HorizonEvaluation.Evaluate(Zero(config, 0), series, config));
        Assert.Contains("forecast-horizon 20", e.Message);
    }

    [Fact]
    public void A_horizon_below_one_step_is_refused_by_the_run_config_rule()
    {
        var config = RunConfig.Default with { HiddenLayerSize = 2, TimeStep = 3, ForecastHorizon = 5 };
        var series = Enumerable.Range(0, 100).Select(t => (float)t).ToArray();
        var e = Assert.Throws<ArgumentException>(() => HorizonEvaluation.Evaluate(Zero(config, 0), series, config with { ForecastHorizon = 0 }));
        Assert.Contains("run-config key 'forecast-horizon': must be an integer >= 1, got '0'", e.Message);
    }

    [Fact]
    public void Pooled_training_counts_the_windows_of_every_series()
    {
        var config = RunConfig.Default with { HiddenLayerSize = 4, TimeStep = 5, LocalEpochs = 1 };
        var a = SyntheticFleet.Series(Metrics.CpuUsage, 1, 200, 7);
        var b = SyntheticFleet.Series(Metrics.CpuUsage, 2, 300, 7);
        var pooled = LocalTraining.TrainPooled(LocalTraining.InitialWeights(config), [a, b], config, seed: 3);
        // train parts 160 and 240 points -> 155 + 235 windows of 5
        Assert.Equal(390, pooled.NumExamples);
    }

    private static ModelWeights Zero(RunConfig config, float bias) =>
        new(LstmLayout.Tensors(config)
            .Select(s => new NamedTensor(s.Name, s.Shape, s.Name == "linear.bias" ? Enumerable.Repeat(bias, s.ElementCount).ToArray() : new float[s.ElementCount]))
            .ToList());
}
