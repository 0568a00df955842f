using IcosFl.Contracts;

namespace IcosFl.Learning;

/// <summary>
/// A node's series made ready for the model: split in time, a scaler fitted on the training part only,
/// scaled training and test windows, and the test windows in the metric's own units.
/// </summary>
public sealed record PreparedSeries(MinMaxScaler Scaler, WindowSet Train, WindowSet Test, WindowSet TestInUnits)
{
    public static PreparedSeries Prepare(IReadOnlyList<float> series, RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(config);
        for (int i = 0; i < series.Count; i++)
        {
            if (!float.IsFinite(series[i]))
            {
                throw new ArgumentException($"The series holds a non-finite value ({series[i]}) at index {i}.", nameof(series));
            }
        }

        int needed = LocalTraining.MinimumPoints(config);
        if (series.Count < needed)
        {
            throw new InsufficientDataException(series.Count, needed,
                $"at least one training and one test window, i.e. time-step {config.TimeStep} + 1 points on each side " +
                $"of the train-test-split {config.TrainTestSplit}");
        }

        var split = ChronologicalSplit.Split(series, config.TrainTestSplit);
        var scaler = MinMaxScaler.Fit(split.Train);
        return new PreparedSeries(
            scaler,
            SlidingWindows.Build(scaler.Transform(split.Train), config.TimeStep),
            SlidingWindows.Build(scaler.Transform(split.Test), config.TimeStep),
            SlidingWindows.Build(split.Test, config.TimeStep));
    }
}
