using static TorchSharp.torch;

namespace IcosFl.Learning.Prediction;

/// <summary>
/// Forecasts a node's metric from its latest time-step points: scale with the given scaler, read the steps ahead off the
/// model's direct head, recursively beyond it (<see cref="MultiStepForecast.Recursive"/>), scale back to the metric's units.
/// Shared by <c>icosfl predict</c> and the controller's HTTP endpoint, so both give the same numbers for the same model.
/// </summary>
public static class Forecaster
{
    /// <summary>The scrape interval: one point every 3 s, as the collector samples and the model was trained.</summary>
    public static readonly TimeSpan DefaultStepInterval = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The scaler a node uses for its own series: min-max fitted on the training part (the first train-test-split share),
    /// exactly as <see cref="PreparedSeries.Prepare"/> fits it for training and evaluation on that node.
    /// </summary>
    public static MinMaxScaler NodeScaler(IReadOnlyList<float> series, double trainTestSplit)
    {
        ArgumentNullException.ThrowIfNull(series);
        var train = ChronologicalSplit.Split(series, trainTestSplit).Train;
        if (train.Length == 0)
            throw new InsufficientDataException(series.Count, (int)Math.Ceiling(1 / trainTestSplit),
                $"at least one point in the training part (train-test-split {trainTestSplit}) to fit the scaler");
        return MinMaxScaler.Fit(train);
    }

    /// <summary>
    /// Each feature's scaler on a node (the forecast metric's, then each input metric's): min-max fitted on that feature's
    /// training part, as <see cref="PreparedSeries.Prepare(FeatureSeries, IcosFl.Contracts.RunConfig)"/> fits them.
    /// </summary>
    public static IReadOnlyList<MinMaxScaler> NodeScalers(FeatureSeries series, double trainTestSplit)
    {
        ArgumentNullException.ThrowIfNull(series);
        return series.Values.Select(values => NodeScaler(values, trainTestSplit)).ToArray();
    }

    /// <summary>
    /// The next <paramref name="horizon"/> values after the end of <paramref name="series"/>, in the metric's units,
    /// from its last <see cref="ForecastModel.TimeStep"/> points. For a univariate model.
    /// </summary>
    public static float[] Forecast(ForecastModel model, MinMaxScaler scaler, IReadOnlyList<float> series, int horizon)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(scaler);
        ArgumentNullException.ThrowIfNull(series);
        if (model.InputSize > 1)
            throw new ArgumentException(
                $"The model reads {string.Join(", ", model.InputFeatures)} at each step; give it the node's series of each (and a scaler per metric).",
                nameof(series));
        return Forecast(model, [scaler], FeatureSeries.Univariate(model.InputFeatures.FirstOrDefault() ?? "series", series), horizon);
    }

    /// <summary>
    /// The forecast metric's next <paramref name="horizon"/> values after the end of aligned <paramref name="series"/> (the
    /// model's input features in its order), in the metric's units; each feature scaled by its own scaler. Beyond the last
    /// observed point the input metrics are held at their last value (<see cref="MultiStepForecast"/>).
    /// </summary>
    public static float[] Forecast(ForecastModel model, IReadOnlyList<MinMaxScaler> scalers, FeatureSeries series, int horizon)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(scalers);
        ArgumentNullException.ThrowIfNull(series);
        if (horizon < 1)
            throw new ArgumentOutOfRangeException(nameof(horizon), horizon, $"The horizon must be at least 1 step, got {horizon}.");
        model.EnsureValid();
        int width = model.InputSize;
        if (model.InputFeatures.Count > 0 && !model.InputFeatures.SequenceEqual(series.Metrics))
            throw new ArgumentException(
                $"The model reads [{string.Join(", ", model.InputFeatures)}] but the series given are [{string.Join(", ", series.Metrics)}].", nameof(series));
        if (series.FeatureCount != width || scalers.Count != width)
            throw new ArgumentException(
                $"The model reads {width} values per step but got {series.FeatureCount} series and {scalers.Count} scalers.", nameof(series));
        if (series.Count < model.TimeStep)
            throw new InsufficientDataException(series.Count, model.TimeStep, $"the last time-step {model.TimeStep} points to forecast from");

        var window = new float[model.TimeStep * width];
        for (int i = 0; i < model.TimeStep; i++)
        {
            int index = series.Count - model.TimeStep + i;
            for (int f = 0; f < width; f++)
            {
                float value = series.Values[f][index];
                if (!float.IsFinite(value))
                    throw new ArgumentException(
                        $"The series {(width == 1 ? "" : $"of {series.Metrics[f]} ")}holds a non-finite value ({value}) at index {index}.", nameof(series));
                window[i * width + f] = scalers[f].Transform(value);
            }
        }

        using var scope = NewDisposeScope();
        using var lstm = new LstmForecaster(model.HiddenSize, model.NumLayers, width, model.OutputSize);
        lstm.LoadWeights(model.Weights);
        var scaled = MultiStepForecast.Recursive(lstm, window, 1, model.TimeStep, horizon);
        return scaled.Select(scalers[0].Inverse).ToArray();
    }

    /// <summary>
    /// <see cref="Forecast(ForecastModel, MinMaxScaler, IReadOnlyList{float}, int)"/> with times: the points of a node's store
    /// (Unix milliseconds, oldest first), forecast from the newest one, step h at newest + h x <paramref name="stepInterval"/> (default 3 s).
    /// </summary>
    public static NodeForecast ForecastAt(ForecastModel model, MinMaxScaler scaler, IReadOnlyList<long> timesUnixMs,
        IReadOnlyList<float> values, int horizon, TimeSpan? stepInterval = null)
    {
        ArgumentNullException.ThrowIfNull(timesUnixMs);
        ArgumentNullException.ThrowIfNull(values);
        if (timesUnixMs.Count != values.Count)
            throw new ArgumentException($"{timesUnixMs.Count} timestamps for {values.Count} values.", nameof(timesUnixMs));
        var step = Step(stepInterval);
        var forecast = Forecast(model, scaler, values, horizon);
        return Timed(forecast, timesUnixMs, values, step, [scaler]);
    }

    /// <summary>
    /// <see cref="Forecast(ForecastModel, IReadOnlyList{MinMaxScaler}, FeatureSeries, int)"/> with times: <paramref name="series"/>
    /// must carry its timestamps (<see cref="FeatureSeries.AlignByTime"/>); the forecast starts from its newest common point.
    /// </summary>
    public static NodeForecast ForecastAt(ForecastModel model, IReadOnlyList<MinMaxScaler> scalers, FeatureSeries series, int horizon,
        TimeSpan? stepInterval = null)
    {
        ArgumentNullException.ThrowIfNull(series);
        var times = series.TimesUnixMs ?? throw new ArgumentException("The series carry no timestamps to forecast from.", nameof(series));
        var step = Step(stepInterval);
        var forecast = Forecast(model, scalers, series, horizon);
        return Timed(forecast, times, series.Target, step, scalers);
    }

    private static TimeSpan Step(TimeSpan? stepInterval)
    {
        var step = stepInterval ?? DefaultStepInterval;
        if (step <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(stepInterval), step, "The step interval must be positive.");
        return step;
    }

    private static NodeForecast Timed(float[] forecast, IReadOnlyList<long> timesUnixMs, IReadOnlyList<float> target, TimeSpan step,
        IReadOnlyList<MinMaxScaler> scalers)
    {
        var origin = DateTimeOffset.FromUnixTimeMilliseconds(timesUnixMs[^1]);
        var points = forecast.Select((v, i) => new ForecastPoint(i + 1, origin + (i + 1) * step, v)).ToList();
        return new NodeForecast(origin, target[^1], step, scalers[0], points) { Scalers = scalers };
    }
}
