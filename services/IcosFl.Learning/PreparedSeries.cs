using IcosFl.Contracts;

namespace IcosFl.Learning;

/// <summary>
/// A node's series made ready for the model: split in time, a scaler per feature fitted on that feature's training
/// part only, scaled training and test windows, and the test windows in the metrics' own units.
/// <see cref="Scaler"/> is the forecast metric's (the one predictions are scaled back with).
/// </summary>
public sealed record PreparedSeries(MinMaxScaler Scaler, WindowSet Train, WindowSet Test, WindowSet TestInUnits)
{
    /// <summary>Every feature's scaler in model-input order: the forecast metric's, then each input metric's.</summary>
    public IReadOnlyList<MinMaxScaler> Scalers { get; init; } = [Scaler];

    public static PreparedSeries Prepare(IReadOnlyList<float> series, RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(config);
        return Prepare(FeatureSeries.Univariate(config.Metric, series), config);
    }

    /// <summary>
    /// As for one series, feature by feature: each is split at the same point and scaled by its own training part;
    /// the windows carry every feature at each step, their targets the forecast metric.
    /// </summary>
    public static PreparedSeries Prepare(FeatureSeries series, RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(config);
        series.For(config);
        for (int f = 0; f < series.FeatureCount; f++)
        {
            var values = series.Values[f];
            for (int i = 0; i < values.Count; i++)
            {
                if (!float.IsFinite(values[i]))
                {
                    var which = series.FeatureCount == 1 ? "The series" : $"The series of {series.Metrics[f]}";
                    throw new ArgumentException($"{which} holds a non-finite value ({values[i]}) at index {i}.", nameof(series));
                }
            }
        }

        int needed = LocalTraining.MinimumPoints(config);
        if (series.Count < needed)
        {
            var aligned = series.FeatureCount == 1 ? "" : $" (points where {string.Join(", ", series.Metrics)} all have a value)";
            throw new InsufficientDataException(series.Count, needed,
                $"at least one training and one test window, i.e. time-step {config.TimeStep} + 1 points on each side " +
                $"of the train-test-split {config.TrainTestSplit}{aligned}");
        }

        var splits = series.Values.Select(v => ChronologicalSplit.Split(v, config.TrainTestSplit)).ToArray();
        var scalers = splits.Select(s => MinMaxScaler.Fit(s.Train)).ToArray();
        return new PreparedSeries(
            scalers[0],
            SlidingWindows.Build(splits.Select((s, f) => scalers[f].Transform(s.Train)).ToArray(), config.TimeStep),
            SlidingWindows.Build(splits.Select((s, f) => scalers[f].Transform(s.Test)).ToArray(), config.TimeStep),
            SlidingWindows.Build(splits.Select(s => s.Test).ToArray(), config.TimeStep))
        {
            Scalers = scalers,
        };
    }
}
