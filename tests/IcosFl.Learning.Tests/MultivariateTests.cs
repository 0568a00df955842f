using IcosFl.Contracts;
using IcosFl.Learning.NodeData;
using IcosFl.Learning.Prediction;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace IcosFl.Learning.Tests;

/// <summary>Models that read other metrics beside the forecast one (run-config input-metrics).</summary>
public sealed class MultivariateTests(ITestOutputHelper output)
{
    private static readonly RunConfig WithMemory = RunConfig.Default with { InputMetrics = Metrics.MemoryUsage };

    [Fact]
    public void Windows_hold_every_feature_at_each_step_and_target_the_forecast_metric()
    {
        float[][] features = [[0, 1, 2, 3, 4], [10, 11, 12, 13, 14]];

        var windows = SlidingWindows.Build(features, timeStep: 2);

        // [batch 3, time 2, features 2], row-major.
        Assert.Equal((3, 2, 2), (windows.Count, windows.TimeStep, windows.Features));
        Assert.Equal([0f, 10, 1, 11, 1, 11, 2, 12, 2, 12, 3, 13], windows.Inputs);
        Assert.Equal([2f, 3, 4], windows.Targets);
        Assert.Equal(2f, windows.LastInput(1)); // the forecast metric's last value, not the input metric's
    }

    [Fact]
    public void Each_feature_is_scaled_by_its_own_training_part_only()
    {
        var config = WithMemory with { TimeStep = 2, TrainTestSplit = 0.5 };
        var series = FeatureSeries.Aligned(
            [Metrics.CpuUsage, Metrics.MemoryUsage],
            [new float[] { 1, 3, 2, 5, 100, 0, 4, 4 }, new float[] { 10, 20, 30, 40, -50, 500, 0, 0 }]);

        var prepared = PreparedSeries.Prepare(series, config);

        // The test part's 100, -50 and 500 do not reach the scalers.
        Assert.Equal([new MinMaxScaler(1, 5), new MinMaxScaler(10, 40)], prepared.Scalers);
        Assert.Equal(new MinMaxScaler(1, 5), prepared.Scaler);
        Assert.Equal((2, 2), (prepared.Train.Count, prepared.Train.Features));
        Assert.Equal([0f, 0f, 2f / 4, 10f / 30, 2f / 4, 10f / 30, 1f / 4, 20f / 30], prepared.Train.Inputs);
        Assert.Equal([1f / 4, 4f / 4], prepared.Train.Targets);
        Assert.Equal([99f / 4, -60f / 30, -1f / 4, 490f / 30, -1f / 4, 490f / 30, 3f / 4, -10f / 30], prepared.Test.Inputs);
        Assert.Equal([4f, 4f], prepared.TestInUnits.Targets);
        Assert.Equal(0f, prepared.TestInUnits.LastInput(0));
    }

    [Fact]
    public void The_first_LSTM_layer_reads_one_input_per_feature()
    {
        var config = RunConfig.Default with { HiddenLayerSize = 4, NumLayers = 2, InputMetrics = "memory_usage,power_consumption" };

        var specs = LstmLayout.Tensors(config);
        var weights = LocalTraining.InitialWeights(config);

        Assert.Equal(3, LstmLayout.InputSizeOf(config));
        Assert.Equal([16, 3], specs.Single(s => s.Name == "lstm.weight_ih_l0").Shape);
        Assert.Equal([16, 4], specs.Single(s => s.Name == "lstm.weight_ih_l1").Shape);
        Assert.Equal(specs.Sum(s => s.ElementCount), weights.Tensors.Sum(t => t.Data.Length));
        using var model = LstmForecaster.For(config);
        model.LoadWeights(weights);
        Assert.Equal(weights.Tensors.SelectMany(t => t.Data), model.GetWeights().Tensors.SelectMany(t => t.Data));

        var univariate = LocalTraining.InitialWeights(config with { InputMetrics = "" });
        var e = Assert.Throws<IncompatibleWeightsException>(() => model.LoadWeights(univariate));
        Assert.Equal(
            "The weights do not fit LSTM(input_size=3, hidden_size=4, num_layers=2) + Linear(4, 100): wrong: lstm.weight_ih_l0 has shape [16, 1], expected [16, 3].",
            e.Message);
    }

    [Fact]
    public void An_input_metric_that_carries_the_signal_makes_the_model_clearly_better()
    {
        // memory(t) is noise; cpu(t + 1) = memory(t). cpu alone is unpredictable, cpu with memory is exact.
        var random = new Random(3);
        var memory = Enumerable.Range(0, 400).Select(_ => (float)random.NextDouble()).ToArray();
        var cpu = new float[400];
        cpu[0] = 0.5f;
        for (int t = 1; t < cpu.Length; t++)
            cpu[t] = memory[t - 1];
        var univariate = RunConfig.Default with { TimeStep = 3, HiddenLayerSize = 8, LearningRate = 0.01, BatchSize = 16, LocalEpochs = 20, Seed = 1 };
        var multivariate = univariate with { InputMetrics = Metrics.MemoryUsage };
        var both = FeatureSeries.Aligned([Metrics.CpuUsage, Metrics.MemoryUsage], [cpu, memory]);

        var alone = LocalTraining.Train(LocalTraining.InitialWeights(univariate), cpu, univariate, seed: 1);
        var helped = LocalTraining.Train(LocalTraining.InitialWeights(multivariate), both, multivariate, seed: 1);
        var aloneEval = LocalTraining.Evaluate(alone.Weights, cpu, univariate);
        var helpedEval = LocalTraining.Evaluate(helped.Weights, both, multivariate);

        output.WriteLine($"RMSE univariate {aloneEval.Rmse:F4}, with memory_usage {helpedEval.Rmse:F4}, persistence {aloneEval.PersistenceRmse:F4}");
        Assert.Equal((80 - 3, 80 - 3), (aloneEval.NumExamples, helpedEval.NumExamples));
        Assert.Equal(aloneEval.PersistenceRmse, helpedEval.PersistenceRmse); // the baseline reads the forecast metric only
        Assert.True(helpedEval.Rmse < aloneEval.Rmse / 3, $"with memory {helpedEval.Rmse} vs alone {aloneEval.Rmse}");
        Assert.True(aloneEval.Rmse > 0.2, $"cpu alone should be unpredictable noise, RMSE {aloneEval.Rmse}");
    }

    [Fact]
    public void Recursive_forecasts_hold_the_input_metrics_at_their_last_value()
    {
        // A one-step head (forecast-horizon 1), so every step ahead goes through the recursion.
        var config = WithMemory with { HiddenLayerSize = 5, TimeStep = 3, Seed = 4, ForecastHorizon = 1 };
        using var model = LstmForecaster.For(config);
        model.LoadWeights(LocalTraining.InitialWeights(config));
        float[] windows = [0.1f, 0.9f, 0.4f, 0.8f, 0.7f, 0.3f, /* second window */ 0.5f, 0.2f, 0.6f, 0.1f, 0.2f, 0.05f];

        var forecasts = MultiStepForecast.Recursive(model, windows, count: 2, timeStep: 3, horizon: 3);

        // By hand: each step appends [prediction, last observed memory] (0.3 and 0.05) and drops the oldest step.
        var expected = new float[6];
        for (int w = 0; w < 2; w++)
        {
            var window = windows.AsSpan(w * 6, 6).ToArray().ToList();
            float held = window[5];
            for (int h = 0; h < 3; h++)
            {
                float next;
                using (no_grad())
                using (var input = tensor(window.ToArray(), [1, 3, 2]))
                using (var output = model.forward(input))
                    next = output.data<float>()[0];
                expected[w * 3 + h] = next;
                window = [.. window.Skip(2), next, held];
            }
        }

        Assert.Equal(expected, forecasts);
    }

    [Fact]
    public void The_forecaster_scales_each_input_by_its_own_scaler_and_matches_the_recursive_forecast()
    {
        var config = WithMemory with { HiddenLayerSize = 6, TimeStep = 4, Seed = 11 };
        var weights = LocalTraining.InitialWeights(config);
        var cpu = Enumerable.Range(0, 40).Select(i => (float)(3 + Math.Sin(i / 3.0))).ToArray();
        var memory = Enumerable.Range(0, 40).Select(i => (float)(2000 + 50 * Math.Cos(i / 5.0))).ToArray();
        var series = FeatureSeries.Aligned([Metrics.CpuUsage, Metrics.MemoryUsage], [cpu, memory]);
        var scalers = Forecaster.NodeScalers(series, config.TrainTestSplit);

        var forecast = Forecaster.Forecast(ForecastModel.From(weights, config), scalers, series, 5);

        Assert.Equal([MinMaxScaler.Fit(cpu.AsSpan(0, 32)), MinMaxScaler.Fit(memory.AsSpan(0, 32))], scalers);
        var window = Enumerable.Range(36, 4).SelectMany(t => new[] { scalers[0].Transform(cpu[t]), scalers[1].Transform(memory[t]) }).ToArray();
        using var lstm = LstmForecaster.For(config);
        lstm.LoadWeights(weights);
        Assert.Equal(MultiStepForecast.Recursive(lstm, window, 1, 4, 5).Select(scalers[0].Inverse), forecast);

        var e = Assert.Throws<ArgumentException>(() => Forecaster.Forecast(ForecastModel.From(weights, config), scalers[0], cpu, 5));
        Assert.StartsWith("The model reads cpu_usage, memory_usage at each step; give it the node's series of each", e.Message);
    }

    [Fact]
    public void Multi_step_evaluation_scores_baselines_on_the_forecast_metric_alone()
    {
        var cpu = SyntheticFleet.Series(Metrics.CpuUsage, 2, 400, 9);
        var memory = SyntheticFleet.Series(Metrics.MemoryUsage, 2, 400, 9);
        var config = WithMemory with { ForecastHorizon = 6 };
        var univariate = HorizonEvaluation.Evaluate(LocalTraining.InitialWeights(RunConfig.Default with { ForecastHorizon = 6 }), cpu, config with { InputMetrics = "" });

        var result = HorizonEvaluation.Evaluate(LocalTraining.InitialWeights(config),
            FeatureSeries.Aligned([Metrics.CpuUsage, Metrics.MemoryUsage], [cpu, memory]), config);

        Assert.Equal((univariate.Origins, univariate.SeasonPeriod), (result.Origins, result.SeasonPeriod));
        Assert.Equal(univariate.ByHorizon.Select(e => (e.PersistenceRmse, e.PersistenceMae, e.SeasonalRmse)),
            result.ByHorizon.Select(e => (e.PersistenceRmse, e.PersistenceMae, e.SeasonalRmse)));
        Assert.NotEqual(univariate.At(1).Rmse, result.At(1).Rmse);
    }

    [Fact]
    public void A_multivariate_config_refuses_a_lone_series_and_series_in_another_order()
    {
        var config = WithMemory;
        var weights = LocalTraining.InitialWeights(config);
        var cpu = SyntheticFleet.Series(Metrics.CpuUsage, 0, 100, 1);

        var lone = Assert.Throws<ArgumentException>(() => LocalTraining.Train(weights, cpu, config, seed: 1));
        var swapped = Assert.Throws<ArgumentException>(() => LocalTraining.Evaluate(weights,
            FeatureSeries.Aligned([Metrics.MemoryUsage, Metrics.CpuUsage], [cpu, cpu]), config));

        Assert.StartsWith("The series hold [cpu_usage] but the run-config's metric and input-metrics make the model read [cpu_usage, memory_usage].", lone.Message);
        Assert.StartsWith("The series hold [memory_usage, cpu_usage] but", swapped.Message);
        Assert.StartsWith("run-config key 'input-metrics': 'cpu_usage' is the forecast metric",
            Assert.Throws<ArgumentException>(() => LocalTraining.InitialWeights(config with { InputMetrics = "cpu_usage" })).Message);
    }

    [Fact]
    public void Timestamped_series_are_joined_on_equal_timestamps()
    {
        var series = FeatureSeries.AlignByTime([Metrics.CpuUsage, Metrics.MemoryUsage],
        [
            (new long[] { 0, 3000, 6000, 9000 }, new float[] { 1, 2, 3, 4 }),
            (new long[] { 3000, 6000, 7000, 9000, 12000 }, new float[] { 20, 30, 35, 40, 50 }),
        ]);

        Assert.Equal([3000L, 6000, 9000], series.TimesUnixMs);
        Assert.Equal([2f, 3, 4], series.Values[0]);
        Assert.Equal([20f, 30, 40], series.Values[1]);
    }

    [Fact]
    public void Series_that_cannot_be_aligned_are_refused_saying_why()
    {
        var apart = Assert.Throws<ArgumentException>(() => FeatureSeries.AlignByTime([Metrics.CpuUsage, Metrics.MemoryUsage],
        [
            (new long[] { 0, 3000 }, new float[] { 1, 2 }),
            (new long[] { 1000, 4000 }, new float[] { 20, 30 }),
        ]));
        var uneven = Assert.Throws<ArgumentException>(() => FeatureSeries.Aligned([Metrics.CpuUsage, Metrics.MemoryUsage], [new float[5], new float[4]]));

        Assert.StartsWith("The input metrics share no timestamp, so they were not sampled together: cpu_usage 1970-01-01T00:00:00.0000000+00:00..1970-01-01T00:00:03.0000000+00:00, memory_usage ", apart.Message);
        Assert.StartsWith("Series without common timestamps must come from one sampler and hold the same number of points, but cpu_usage holds 5, memory_usage holds 4.", uneven.Message);
    }

    [Fact]
    public void A_node_store_gives_its_input_metrics_aligned_by_time_or_names_the_one_it_lacks()
    {
        var store = new InMemoryNodeStore("edge-1");
        var start = DateTimeOffset.FromUnixTimeSeconds(1_795_860_000);
        store.Append([
            new MetricSample(Metrics.CpuUsage, start, 0.5), new MetricSample(Metrics.MemoryUsage, start, 2048),
            new MetricSample(Metrics.CpuUsage, start.AddSeconds(3), 0.75),
            new MetricSample(Metrics.CpuUsage, start.AddSeconds(6), 1.0), new MetricSample(Metrics.MemoryUsage, start.AddSeconds(6), 2050),
        ]);
        store.MarkUnavailable(Metrics.PowerConsumption, "no Intel RAPL on this machine");

        Assert.True(FeatureSeries.TryRead(store, WithMemory, out var series, out _));
        Assert.False(FeatureSeries.TryRead(store, WithMemory with { InputMetrics = "memory_usage,power_consumption" }, out _, out var why));

        Assert.Equal([0.5f, 1.0f], series.Target);
        Assert.Equal([2048f, 2050f], series.Values[1]);
        Assert.Equal([start.ToUnixTimeMilliseconds(), start.AddSeconds(6).ToUnixTimeMilliseconds()], series.TimesUnixMs);
        Assert.Equal("input metric power_consumption (input-metrics) is not available on this node: no Intel RAPL on this machine", why);
    }
}
