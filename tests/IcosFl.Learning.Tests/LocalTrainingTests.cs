using IcosFl.Contracts;
using Xunit.Abstractions;

namespace IcosFl.Learning.Tests;

public sealed class LocalTrainingTests(ITestOutputHelper output)
{
    // A smooth, learnable series: two sines, period 20 and 7 samples. Persistence is poor on it (values move a
    // lot between samples) while the whole future follows from a window of 10.
    private static float[] Waves(int length) =>
        Enumerable.Range(0, length).Select(t => (float)(50 + 10 * Math.Sin(2 * Math.PI * t / 20) + 4 * Math.Sin(2 * Math.PI * t / 7))).ToArray();

    private static readonly RunConfig Quick = RunConfig.Default with { LearningRate = 0.01, BatchSize = 32 };

    [Fact]
    public void TorchSharp_loads_and_trains_a_few_steps()
    {
        var global = LocalTraining.InitialWeights(RunConfig.Default);
        var config = RunConfig.Default with { LocalEpochs = 1 };

        var result = LocalTraining.Train(global, Waves(200), config, seed: 1);

        Assert.Equal(160 - 10, result.NumExamples);
        Assert.Equal(1, result.Epochs);
        Assert.True(result.Loss is > 0 and < 1, $"loss {result.Loss}");
        Assert.True(result.DurationMs > 0);
        Assert.NotEqual(LstmForecasterTests.Flatten(global), LstmForecasterTests.Flatten(result.Weights));
        Assert.Equal(global.Tensors.Select(t => t.Name), result.Weights.Tensors.Select(t => t.Name));
    }

    [Fact]
    public void Training_loss_falls()
    {
        var series = Waves(600);
        var global = LocalTraining.InitialWeights(Quick);

        var first = LocalTraining.Train(global, series, Quick with { LocalEpochs = 1 }, seed: 1);
        var later = LocalTraining.Train(first.Weights, series, Quick with { LocalEpochs = 15 }, seed: 1);

        output.WriteLine($"loss after 1 epoch {first.Loss:F5}, after 16 epochs {later.Loss:F5}");
        Assert.True(later.Loss < first.Loss / 5, $"loss fell only from {first.Loss} to {later.Loss}");
    }

    [Fact]
    public void A_trained_model_beats_persistence_on_a_smooth_series()
    {
        var series = Waves(600);
        var config = Quick with { LocalEpochs = 40, LearningRate = 0.03 };
        var global = LocalTraining.InitialWeights(config);

        var before = LocalTraining.Evaluate(global, series, config);
        var trained = LocalTraining.Train(global, series, config, seed: 1);
        var after = LocalTraining.Evaluate(trained.Weights, series, config);

        output.WriteLine($"RMSE initial {before.Rmse:F3}, trained {after.Rmse:F3}, persistence {after.PersistenceRmse:F3}; train {trained.DurationMs:F0} ms");
        Assert.Equal(120 - 10, after.NumExamples);
        Assert.True(after.Rmse < after.PersistenceRmse / 3, $"trained RMSE {after.Rmse} vs persistence {after.PersistenceRmse}");
        Assert.True(after.Rmse < before.Rmse / 4, $"trained RMSE {after.Rmse} vs initial {before.Rmse}");
        Assert.Equal(after.Mse, after.Rmse * after.Rmse, 9);
    }

    [Fact]
    public void Persistence_errors_are_exact_on_a_ramp()
    {
        // t = 0..99: the test part is 80..99, 10 windows, and persistence is always exactly 1 behind.
        var ramp = Enumerable.Range(0, 100).Select(t => (float)t).ToArray();

        var metrics = LocalTraining.Evaluate(LocalTraining.InitialWeights(RunConfig.Default), ramp, RunConfig.Default);

        Assert.Equal(10, metrics.NumExamples);
        Assert.Equal(1.0, metrics.PersistenceMse);
        Assert.Equal(1.0, metrics.PersistenceRmse);
        Assert.Equal(1.0, metrics.PersistenceMae);
    }

    [Fact]
    public void Evaluation_reports_errors_in_the_metrics_own_units()
    {
        // The same shape at 1000x the scale: scaled errors are identical, so errors in units are 1000x (MSE 10^6x).
        var series = Waves(300);
        var large = series.Select(v => v * 1000).ToArray();
        var weights = LocalTraining.InitialWeights(RunConfig.Default);

        var small = LocalTraining.Evaluate(weights, series, RunConfig.Default);
        var scaled = LocalTraining.Evaluate(weights, large, RunConfig.Default);

        Assert.Equal(small.Mae * 1000, scaled.Mae, small.Mae * 1000 * 1e-4);
        Assert.Equal(small.Rmse * 1000, scaled.Rmse, small.Rmse * 1000 * 1e-4);
        Assert.Equal(small.PersistenceMae * 1000, scaled.PersistenceMae, small.PersistenceMae * 1000 * 1e-4);
    }

    [Fact]
    public void The_same_seed_gives_identical_weights_and_another_seed_different_ones()
    {
        var series = Waves(300);
        var config = RunConfig.Default with { LocalEpochs = 2 };
        var global = LocalTraining.InitialWeights(config);

        var a = LocalTraining.Train(global, series, config, seed: 5);
        var b = LocalTraining.Train(global, series, config, seed: 5);
        var c = LocalTraining.Train(global, series, config, seed: 6);

        Assert.Equal(LstmForecasterTests.Flatten(a.Weights), LstmForecasterTests.Flatten(b.Weights));
        Assert.Equal(a.Loss, b.Loss);
        Assert.NotEqual(LstmForecasterTests.Flatten(a.Weights), LstmForecasterTests.Flatten(c.Weights));
    }

    [Fact]
    public void Concurrent_training_gives_the_same_weights_as_training_alone()
    {
        // Workers train side by side in one process (embedded mode): no shared random state may leak between them.
        var config = RunConfig.Default with { LocalEpochs = 2 };
        var global = LocalTraining.InitialWeights(config);
        var series = Enumerable.Range(0, 4).Select(node => SyntheticFleet.Series(Metrics.CpuUsage, node, 300, 9)).ToArray();
        var alone = series.Select((s, node) => LstmForecasterTests.Flatten(LocalTraining.Train(global, s, config, seed: node).Weights)).ToArray();

        var together = new float[series.Length][];
        Parallel.For(0, series.Length, node =>
            together[node] = LstmForecasterTests.Flatten(LocalTraining.Train(global, series[node], config, seed: node).Weights));

        Assert.Equal(alone, together);
    }

    [Fact]
    public void Training_never_sees_the_test_part()
    {
        var series = Waves(300);
        var spiked = series.Select((v, i) => i >= 240 ? v * 50 : v).ToArray();
        var config = RunConfig.Default with { LocalEpochs = 2 };
        var global = LocalTraining.InitialWeights(config);

        var plain = LocalTraining.Train(global, series, config, seed: 1);
        var withSpikes = LocalTraining.Train(global, spiked, config, seed: 1);

        Assert.Equal(LstmForecasterTests.Flatten(plain.Weights), LstmForecasterTests.Flatten(withSpikes.Weights));
        Assert.Equal(plain.Loss, withSpikes.Loss);
    }

    [Fact]
    public void The_proximal_term_keeps_weights_near_the_global_model()
    {
        var series = Waves(400);
        var global = LocalTraining.InitialWeights(Quick);
        var config = Quick with { LocalEpochs = 5 };

        var free = LocalTraining.Train(global, series, config, seed: 1);
        var proximal = LocalTraining.Train(global, series, config with { ProximalMu = 5.0 }, seed: 1);

        double freeDrift = Distance(free.Weights, global);
        double proximalDrift = Distance(proximal.Weights, global);
        output.WriteLine($"drift from global: mu=0 {freeDrift:F4}, mu=5 {proximalDrift:F4}");
        Assert.True(proximalDrift < freeDrift * 0.8, $"mu=5 drifted {proximalDrift}, mu=0 {freeDrift}");
    }

    [Fact]
    public void Head_only_training_changes_the_head_and_leaves_the_lstm_as_given()
    {
        var series = FeatureSeries.Univariate(Quick.Metric, Waves(400));
        var global = LocalTraining.InitialWeights(Quick);
        var config = Quick with { LocalEpochs = 2 };

        var head = LocalTraining.Train(global, series, config, seed: 1, headOnly: true);
        var all = LocalTraining.Train(global, series, config, seed: 1, headOnly: false);

        var given = global.Tensors.ToDictionary(t => t.Name, t => t.Data);
        foreach (var tensor in head.Weights.Tensors)
        {
            if (tensor.Name.StartsWith(LstmLayout.HeadPrefix, StringComparison.Ordinal))
                Assert.NotEqual(given[tensor.Name], tensor.Data);
            else
                Assert.Equal(given[tensor.Name], tensor.Data);
        }

        Assert.Contains(all.Weights.Tensors, t => !t.Name.StartsWith(LstmLayout.HeadPrefix, StringComparison.Ordinal) && !t.Data.SequenceEqual(given[t.Name]));
        Assert.Equal(LstmForecasterTests.Flatten(head.Weights),
            LstmForecasterTests.Flatten(LocalTraining.Train(global, series, config, seed: 1, headOnly: true).Weights));
    }

    [Fact]
    public void Training_stops_when_cancelled()
    {
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();

        Assert.Throws<OperationCanceledException>(() =>
            LocalTraining.Train(LocalTraining.InitialWeights(RunConfig.Default), Waves(200), RunConfig.Default, seed: 1, cancellation.Token));
    }

    [Fact]
    public void Training_and_evaluation_refuse_a_short_series()
    {
        var weights = LocalTraining.InitialWeights(RunConfig.Default);

        var train = Assert.Throws<InsufficientDataException>(() => LocalTraining.Train(weights, Waves(30), RunConfig.Default, seed: 1));
        var evaluate = Assert.Throws<InsufficientDataException>(() => LocalTraining.Evaluate(weights, Waves(50), RunConfig.Default));

        Assert.Equal((30, 51), (train.Held, train.Needed));
        Assert.Equal((50, 51), (evaluate.Held, evaluate.Needed));
        Assert.Equal(51 - 40 - 10, LocalTraining.Evaluate(weights, Waves(51), RunConfig.Default).NumExamples);
    }

    [Theory]
    [InlineData("batch-size")]
    [InlineData("local-epochs")]
    [InlineData("learning-rate")]
    [InlineData("proximal-mu")]
    [InlineData("hidden-layer-size")]
    [InlineData("time-step")]
    public void Bad_run_config_values_are_named(string key)
    {
        var config = key switch
        {
            "batch-size" => RunConfig.Default with { BatchSize = 0 },
            "local-epochs" => RunConfig.Default with { LocalEpochs = 0 },
            "learning-rate" => RunConfig.Default with { LearningRate = -1 },
            "proximal-mu" => RunConfig.Default with { ProximalMu = double.NaN },
            "hidden-layer-size" => RunConfig.Default with { HiddenLayerSize = 0 },
            _ => RunConfig.Default with { TimeStep = 0 },
        };

        var error = Assert.Throws<ArgumentException>(() =>
            LocalTraining.Train(LocalTraining.InitialWeights(RunConfig.Default), Waves(200), config, seed: 1));

        // Named by the one run-config validator (RunConfigParser.Validate), with the rule and the value given.
        Assert.Contains($"run-config key '{key}': must be", error.Message);
    }

    [Fact]
    public void One_training_call_at_the_defaults_on_2000_points()
    {
        // Measured, not asserted (the machines are shared); see the test output.
        var series = SyntheticFleet.Series(Metrics.CpuUsage, nodeIndex: 0, length: 2000, seed: 42);
        var global = LocalTraining.InitialWeights(RunConfig.Default);
        LocalTraining.Train(global, series, RunConfig.Default with { LocalEpochs = 1 }, seed: 0); // warm-up

        var result = LocalTraining.Train(global, series, RunConfig.Default, seed: 1);
        var metrics = LocalTraining.Evaluate(result.Weights, series, RunConfig.Default);

        output.WriteLine($"Train at defaults on 2000 points: {result.DurationMs:F0} ms, {result.NumExamples} windows, " +
                         $"{result.Epochs} epochs, loss {result.Loss:F5}; test RMSE {metrics.Rmse:F4} vs persistence {metrics.PersistenceRmse:F4}");
        Assert.Equal(1600 - 10, result.NumExamples);
    }

    private static double Distance(ModelWeights a, ModelWeights b) =>
        Math.Sqrt(LstmForecasterTests.Flatten(a).Zip(LstmForecasterTests.Flatten(b), (x, y) => (double)(x - y) * (x - y)).Sum());
}
