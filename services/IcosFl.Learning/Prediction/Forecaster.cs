using static TorchSharp.torch;

namespace IcosFl.Learning.Prediction;

/// <summary>
/// Forecasts a node's metric from its latest time-step points: scale with the given scaler, run the one-step model
/// recursively horizon times (<see cref="MultiStepForecast.Recursive"/>), scale back to the metric's units.
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
    /// The next <paramref name="horizon"/> values after the end of <paramref name="series"/>, in the metric's units,
    /// from its last <see cref="ForecastModel.TimeStep"/> points.
    /// </summary>
    public static float[] Forecast(ForecastModel model, MinMaxScaler scaler, IReadOnlyList<float> series, int horizon)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(scaler);
        ArgumentNullException.ThrowIfNull(series);
        if (horizon < 1)
            throw new ArgumentOutOfRangeException(nameof(horizon), horizon, $"The horizon must be at least 1 step, got {horizon}.");
        model.EnsureValid();
        if (series.Count < model.TimeStep)
            throw new InsufficientDataException(series.Count, model.TimeStep, $"the last time-step {model.TimeStep} points to forecast from");

        var window = new float[model.TimeStep];
        for (int i = 0; i < model.TimeStep; i++)
        {
            float value = series[series.Count - model.TimeStep + i];
            if (!float.IsFinite(value))
                throw new ArgumentException($"The series holds a non-finite value ({value}) at index {series.Count - model.TimeStep + i}.", nameof(series));
            window[i] = scaler.Transform(value);
        }

        using var scope = NewDisposeScope();
        using var lstm = new LstmForecaster(model.HiddenSize, model.NumLayers);
        lstm.LoadWeights(model.Weights);
        var scaled = MultiStepForecast.Recursive(lstm, window, 1, model.TimeStep, horizon);
        return scaled.Select(scaler.Inverse).ToArray();
    }

    /// <summary>
    /// <see cref="Forecast"/> with times: the points of a node's store (Unix milliseconds, oldest first), forecast
    /// from the newest one, step h at newest + h x <paramref name="stepInterval"/> (default 3 s).
    /// </summary>
    public static NodeForecast ForecastAt(ForecastModel model, MinMaxScaler scaler, IReadOnlyList<long> timesUnixMs,
        IReadOnlyList<float> values, int horizon, TimeSpan? stepInterval = null)
    {
        ArgumentNullException.ThrowIfNull(timesUnixMs);
        ArgumentNullException.ThrowIfNull(values);
        if (timesUnixMs.Count != values.Count)
            throw new ArgumentException($"{timesUnixMs.Count} timestamps for {values.Count} values.", nameof(timesUnixMs));
        var step = stepInterval ?? DefaultStepInterval;
        if (step <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(stepInterval), step, "The step interval must be positive.");

        var forecast = Forecast(model, scaler, values, horizon);
        var origin = DateTimeOffset.FromUnixTimeMilliseconds(timesUnixMs[^1]);
        var points = forecast.Select((v, i) => new ForecastPoint(i + 1, origin + (i + 1) * step, v)).ToList();
        return new NodeForecast(origin, values[^1], step, scaler, points);
    }
}
