using System.Globalization;
using IcosFl.Learning.NodeData;

namespace IcosFl.Learning;

/// <summary>
/// What a worker checks in its own store's series before training (docs/node-data.md, "Bad input"): gaps, by the
/// series' timestamps against its median step (short ones filled, only the stretch after the last long one kept), and
/// a forecast metric with a single value throughout.
/// </summary>
public static class SeriesChecks
{
    /// <summary>The series with short gaps filled and only the stretch after the last long gap; a warning per repair.</summary>
    public static FeatureSeries Regularise(FeatureSeries series, ICollection<string> warnings)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(warnings);
        if (series.TimesUnixMs is not { Count: >= 2 } times)
            return series;
        var plan = TraceGaps.Plan(times, TraceGaps.MedianStep(times));
        if (plan.ShortGaps.Count == 0 && plan.LongGaps.Count == 0)
            return series;
        var rows = Enumerable.Range(0, series.Count)
            .Select(i => series.Values.Select(v => (double?)v[i]).ToArray()).ToList();
        var (outTimes, outRows) = TraceGaps.Fill(times, rows, plan);
        string At(int i) => DateTimeOffset.FromUnixTimeMilliseconds(times[i]).ToString("O", CultureInfo.InvariantCulture);
        var filled = plan.FilledGaps.ToList();
        if (filled.Count > 0)
            warnings.Add($"{filled.Count} short gap{(filled.Count == 1 ? "" : "s")} in the series (step {TraceGaps.Describe(plan.StepMs)}), first {At(filled[0].Index - 1)} to {At(filled[0].Index)}: " +
                         $"{filled.Sum(g => g.Missing)} points filled by linear interpolation");
        if (plan.LongGaps.Count > 0)
        {
            var last = plan.LongGaps[^1];
            warnings.Add($"{plan.LongGaps.Count} long gap{(plan.LongGaps.Count == 1 ? "" : "s")} in the series (more than {TraceGaps.MaxFilled} missing samples at step {TraceGaps.Describe(plan.StepMs)}), " +
                         $"the last {At(last.Index - 1)} to {At(last.Index)}: training uses the {times.Count - last.Index} points after it, the {last.Index} before set aside");
        }

        var values = series.Metrics.Select((_, f) => (IReadOnlyList<float>)outRows.Select(r => (float)r[f]!.Value).ToArray()).ToList();
        return FeatureSeries.Aligned(series.Metrics, values, outTimes);
    }

    /// <summary>
    /// Points of every input metric a node must hold before it can train a model of <paramref name="config"/>: a training
    /// and a test window (<see cref="LocalTraining.MinimumPoints"/>) plus the forecast-horizon. The worker declines a
    /// shorter series (<see cref="TooShort"/>); the controller waits for workers that hold this many.
    /// </summary>
    public static int PointsNeeded(IcosFl.Contracts.RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return LocalTraining.MinimumPoints(config) + config.ForecastHorizon;
    }

    /// <summary>
    /// Why the series is too short to train a model of <paramref name="config"/> (a training and a test window, plus the
    /// forecast-horizon), naming the points held and needed, else null.
    /// </summary>
    public static string? TooShort(FeatureSeries series, IcosFl.Contracts.RunConfig config, bool repaired = false)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(config);
        int windows = LocalTraining.MinimumPoints(config);
        int needed = PointsNeeded(config);
        if (series.Count >= needed)
            return null;
        var aligned = series.FeatureCount == 1 ? "" : $" where {string.Join(", ", series.Metrics)} all have a value";
        return $"this node holds {series.Count} {series.Metrics[0]} points{aligned}{(repaired ? " (after the gap repairs in the log)" : "")}; {needed} are needed: " +
               $"time-step {config.TimeStep} and train-test-split {config.TrainTestSplit} need {windows}, plus forecast-horizon {config.ForecastHorizon}";
    }

    /// <summary>Why the forecast metric cannot be trained on when it holds a single value at every point, else null.</summary>
    public static string? Constant(FeatureSeries series)
    {
        ArgumentNullException.ThrowIfNull(series);
        var target = series.Target;
        if (target.Count < 2)
            return null;
        for (int i = 1; i < target.Count; i++)
        {
            if (target[i] != target[0])
                return null;
        }

        return $"{series.Metrics[0]} is {target[0].ToString("R", CultureInfo.InvariantCulture)} at all {target.Count} points, " +
               "a constant series with nothing to learn (its min/max scaling has no range)";
    }
}
