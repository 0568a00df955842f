using System.Diagnostics;
using IcosFl.Contracts;
using TorchSharp;
using static TorchSharp.torch;

namespace IcosFl.Learning;

/// <summary>
/// One node's part of federated learning: initial global weights, local training from the global weights on
/// the node's own series, and evaluation on the held-out (later) part of that series.
/// </summary>
public static class LocalTraining
{
    // Evaluation forwards the test windows in chunks so memory stays flat on long series.
    private const int EvaluationChunk = 4096;

    /// <summary>
    /// Weights drawn from PyTorch's initial distribution for this model (every LSTM and Linear tensor
    /// U(-1/sqrt(H), 1/sqrt(H))), from System.Random(config.Seed): deterministic, and independent of torch's
    /// global generator, which concurrent workers in one process share.
    /// </summary>
    public static ModelWeights InitialWeights(RunConfig config)
    {
        ValidateModel(config);
        var random = new Random(config.Seed);
        double bound = 1.0 / Math.Sqrt(config.HiddenLayerSize);
        var tensors = LstmLayout.Tensors(config)
            .Select(spec =>
            {
                var data = new float[spec.ElementCount];
                for (int i = 0; i < data.Length; i++)
                {
                    data[i] = (float)((random.NextDouble() * 2 - 1) * bound);
                }

                return new NamedTensor(spec.Name, spec.Shape, data);
            })
            .ToList();
        return new ModelWeights(tensors);
    }

    /// <summary>
    /// Trains from <paramref name="global"/> on the training part of <paramref name="series"/>: min-max scaling
    /// fitted on that part, windows of time-step values -> the next forecast-horizon values (the direct head; steps past
    /// the end of the training part are masked out), Adam, MSE over every step ahead, mini-batches shuffled by
    /// System.Random(<paramref name="seed"/>), plus the FedProx term (proximal-mu / 2) ||w - w_global||^2 when
    /// proximal-mu > 0. Loss is that MSE (scaled units, over the steps ahead, without the proximal term) of the last epoch.
    /// For a univariate config (no input-metrics); a multivariate one needs the <see cref="FeatureSeries"/> overload.
    /// </summary>
    public static TrainResult Train(
        ModelWeights global, IReadOnlyList<float> series, RunConfig config, int seed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(config);
        return Train(global, FeatureSeries.Univariate(config.Metric, series), config, seed, cancellationToken);
    }

    /// <summary>
    /// As the univariate overload, on aligned features (the forecast metric, then the input-metrics): each feature
    /// scaled by its own training part, windows of [time-step, features] -> the forecast metric's next value.
    /// </summary>
    public static TrainResult Train(
        ModelWeights global, FeatureSeries series, RunConfig config, int seed, CancellationToken cancellationToken = default) =>
        Train(global, series, config, seed, headOnly: false, cancellationToken);

    /// <summary>
    /// As <see cref="Train(ModelWeights, FeatureSeries, RunConfig, int, CancellationToken)"/>; with <paramref name="headOnly"/>
    /// only the linear head (<c>linear.weight</c>, <c>linear.bias</c>) is trained and the LSTM's weights are returned as given.
    /// </summary>
    public static TrainResult Train(
        ModelWeights global, FeatureSeries series, RunConfig config, int seed, bool headOnly, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(global);
        ValidateTraining(config);
        var train = PreparedSeries.Prepare(series, config).Train;
        var (ahead, mask) = SlidingWindows.Ahead(train, LstmLayout.OutputSizeOf(config));
        return TrainOnWindows(global, train, ahead, mask, config, seed, cancellationToken, headOnly);
    }

    /// <summary>
    /// Trains one model on the pooled training windows of several series (the centralized baseline of the
    /// quality experiment): each series split and scaled on its own training part, as each node does, then
    /// all windows shuffled together.
    /// </summary>
    public static TrainResult TrainPooled(
        ModelWeights global, IReadOnlyList<IReadOnlyList<float>> seriesSet, RunConfig config, int seed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(seriesSet);
        ArgumentNullException.ThrowIfNull(config);
        return TrainPooled(global, seriesSet.Select(s => FeatureSeries.Univariate(config.Metric, s)).ToList(), config, seed, cancellationToken);
    }

    /// <summary><see cref="TrainPooled(ModelWeights, IReadOnlyList{IReadOnlyList{float}}, RunConfig, int, CancellationToken)"/> on aligned features per node.</summary>
    public static TrainResult TrainPooled(
        ModelWeights global, IReadOnlyList<FeatureSeries> seriesSet, RunConfig config, int seed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(global);
        ArgumentNullException.ThrowIfNull(seriesSet);
        ValidateTraining(config);
        if (seriesSet.Count == 0)
            throw new ArgumentException("Pooled training needs at least one series.", nameof(seriesSet));
        var parts = seriesSet.Select(s => PreparedSeries.Prepare(s, config).Train).ToList();
        var pooled = new WindowSet(parts.SelectMany(w => w.Inputs).ToArray(), parts.SelectMany(w => w.Targets).ToArray(), config.TimeStep,
            LstmLayout.InputSizeOf(config));
        // Steps ahead per series, so that no window looks into the next series.
        var ahead = parts.Select(w => SlidingWindows.Ahead(w, LstmLayout.OutputSizeOf(config))).ToList();
        return TrainOnWindows(global, pooled, ahead.SelectMany(a => a.Values).ToArray(), ahead.SelectMany(a => a.Mask).ToArray(),
            config, seed, cancellationToken);
    }

    private static TrainResult TrainOnWindows(
        ModelWeights global, WindowSet windows, float[] ahead, float[] aheadMask, RunConfig config, int seed, CancellationToken cancellationToken,
        bool headOnly = false)
    {
        var stopwatch = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        using var model = LstmForecaster.For(config);
        model.LoadWeights(global);
        var named = model.named_parameters().ToArray();
        foreach (var (name, parameter) in named.Where(p => headOnly && !p.name.StartsWith(LstmLayout.HeadPrefix, StringComparison.Ordinal)))
            parameter.requires_grad = false;
        var parameters = named.Where(p => p.parameter.requires_grad).Select(p => p.parameter).ToArray();
        using var optimizer = Optimizer(parameters, config.LearningRate);
        var globalValues = config.ProximalMu > 0
            ? parameters.Select(p => p.detach().clone()).ToArray()
            : [];
        int steps = LstmLayout.OutputSizeOf(config);
        var inputs = tensor(windows.Inputs, [windows.Count, config.TimeStep, windows.Features]);
        var targets = tensor(ahead, [windows.Count, steps]);
        // Step h weighs 1/h^3: errors h steps ahead grow with h, and unweighted the far steps would drown the near ones.
        var stepWeights = tensor(Enumerable.Range(1, steps).Select(h => 1f / (h * h * h)).ToArray(), [1, steps]);
        var masks = tensor(aheadMask, [windows.Count, steps]).mul(stepWeights);

        var random = new Random(seed);
        var order = Enumerable.Range(0, windows.Count).Select(i => (long)i).ToArray();
        double epochLoss = 0;
        model.train();
        for (int epoch = 0; epoch < config.LocalEpochs; epoch++)
        {
            random.Shuffle(order);
            double squaredErrorSum = 0, valuesSeen = 0;
            for (int start = 0; start < order.Length; start += config.BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var batchScope = NewDisposeScope();
                int size = Math.Min(config.BatchSize, order.Length - start);
                var index = tensor(order.AsSpan(start, size).ToArray());
                var batchInputs = inputs.index_select(0, index);
                var batchTargets = targets.index_select(0, index);
                var batchMask = masks.index_select(0, index);

                optimizer.ZeroGrad();
                // The mean squared error over the steps ahead that lie inside the training part.
                var squared = (model.forward(batchInputs) - batchTargets).square().mul(batchMask).sum();
                var valid = batchMask.sum();
                var mse = squared / valid;
                var loss = config.ProximalMu > 0 ? mse.add(ProximalTerm(parameters, globalValues, config.ProximalMu), HeldScalars.One) : mse;
                loss.backward();
                optimizer.Step();
                squaredErrorSum += squared.item<float>();
                valuesSeen += valid.item<float>();
            }

            epochLoss = squaredErrorSum / valuesSeen;
        }

        return new TrainResult(model.GetWeights(), windows.Count, epochLoss, config.LocalEpochs, stopwatch.Elapsed.TotalMilliseconds);
    }

    /// <summary>
    /// Forecast errors on the test part of <paramref name="series"/> in the metric's own units (predictions
    /// inverse-scaled with the scaler fitted on the training part), beside those of the persistence forecast.
    /// </summary>
    public static EvaluationMetrics Evaluate(ModelWeights weights, IReadOnlyList<float> series, RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(config);
        return Evaluate(weights, FeatureSeries.Univariate(config.Metric, series), config);
    }

    /// <summary>
    /// As the univariate overload, on aligned features: every test window holds the input metrics' observed values,
    /// and persistence repeats the forecast metric's last value (the baseline reads the forecast metric only).
    /// </summary>
    public static EvaluationMetrics Evaluate(ModelWeights weights, FeatureSeries series, RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ValidateModel(config);
        var prepared = PreparedSeries.Prepare(series, config);
        var (scaler, scaled, raw) = (prepared.Scaler, prepared.Test, prepared.TestInUnits);
        int stepValues = config.TimeStep * scaled.Features;

        using var model = LstmForecaster.For(config);
        model.LoadWeights(weights);
        model.eval();
        var predictions = new float[scaled.Count];
        using (no_grad())
        {
            for (int start = 0; start < scaled.Count; start += EvaluationChunk)
            {
                using var chunkScope = NewDisposeScope();
                int size = Math.Min(EvaluationChunk, scaled.Count - start);
                var chunk = tensor(scaled.Inputs.AsSpan(start * stepValues, size * stepValues).ToArray(), [size, config.TimeStep, scaled.Features]);
                model.forward(chunk).select(1, 0).contiguous().data<float>().ToArray().CopyTo(predictions, start);
            }
        }

        double squared = 0, absolute = 0, persistenceSquared = 0, persistenceAbsolute = 0;
        for (int i = 0; i < raw.Count; i++)
        {
            double actual = raw.Targets[i];
            double error = scaler.Inverse(predictions[i]) - actual;
            double persistenceError = raw.LastInput(i) - actual;
            squared += error * error;
            absolute += Math.Abs(error);
            persistenceSquared += persistenceError * persistenceError;
            persistenceAbsolute += Math.Abs(persistenceError);
        }

        int n = raw.Count;
        return new EvaluationMetrics(
            n,
            squared / n, Math.Sqrt(squared / n), absolute / n,
            persistenceSquared / n, Math.Sqrt(persistenceSquared / n), persistenceAbsolute / n);
    }

    /// <summary>Points a series needs at this config: at least one training and one test window (time-step + 1 points each side of the split).</summary>
    public static int MinimumPoints(RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        ValidateSplit(config);
        int perPart = config.TimeStep + 1;
        for (int length = 2 * perPart; ; length++)
        {
            int train = ChronologicalSplit.TrainCount(length, config.TrainTestSplit);
            if (train >= perPart && length - train >= perPart)
            {
                return length;
            }
        }
    }

    /// <summary>Adam with PyTorch's defaults, as ICOS-FL uses torch.optim.Adam (see <see cref="AdamOptimizer"/> for why not TorchSharp's).</summary>
    internal static AdamOptimizer Optimizer(IEnumerable<TorchSharp.Modules.Parameter> parameters, double learningRate) =>
        new(parameters, learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-8);

    private static Tensor ProximalTerm(IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> global, double mu)
    {
        var sum = tensor(0f);
        for (int i = 0; i < parameters.Count; i++)
        {
            sum = sum.add((parameters[i] - global[i]).square().sum(), HeldScalars.One);
        }

        // An explicit Scalar held through the call: an implicit one from the double may be finalized while libtorch reads it.
        using var half = (mu / 2).ToScalar();
        return sum.mul(half);
    }

    // The keys the model and its data windows read, and those training reads beside them: checked by the one
    // run-config validator (RunConfigParser.Validate), as the controller checks the whole config before a federation.
    private static readonly string[] ModelKeys =
        [RunConfigKeys.HiddenLayerSize, RunConfigKeys.NumLayers, RunConfigKeys.InputMetrics, RunConfigKeys.TimeStep, RunConfigKeys.TrainTestSplit];

    private static readonly string[] SplitKeys = [RunConfigKeys.TimeStep, RunConfigKeys.TrainTestSplit];

    private static readonly string[] TrainingKeys =
        [.. ModelKeys, RunConfigKeys.BatchSize, RunConfigKeys.LocalEpochs, RunConfigKeys.LearningRate, RunConfigKeys.ProximalMu];

    private static void ValidateModel(RunConfig config) => RunConfigChecks.Require(config, ModelKeys);

    private static void ValidateSplit(RunConfig config) => RunConfigChecks.Require(config, SplitKeys);

    private static void ValidateTraining(RunConfig config) => RunConfigChecks.Require(config, TrainingKeys);
}
