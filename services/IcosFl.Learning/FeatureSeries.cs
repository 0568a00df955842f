using System.Diagnostics.CodeAnalysis;
using IcosFl.Contracts;
using IcosFl.Learning.NodeData;

namespace IcosFl.Learning;

/// <summary>
/// The aligned series a model reads, oldest first: the forecast metric first, then the run's input-metrics, all of the
/// same length, point i of each taken at the same time. <see cref="TimesUnixMs"/> holds those times when the data had them.
/// </summary>
public sealed class FeatureSeries
{
    private FeatureSeries(IReadOnlyList<string> metrics, IReadOnlyList<IReadOnlyList<float>> values, IReadOnlyList<long>? timesUnixMs)
    {
        Metrics = metrics;
        Values = values;
        TimesUnixMs = timesUnixMs;
    }

    /// <summary>The features' metric names in model-input order: the forecast metric, then the input-metrics.</summary>
    public IReadOnlyList<string> Metrics { get; }

    /// <summary>One series per feature, in <see cref="Metrics"/> order.</summary>
    public IReadOnlyList<IReadOnlyList<float>> Values { get; }

    /// <summary>The time of each point (Unix milliseconds), or null when the node's data has no timestamps.</summary>
    public IReadOnlyList<long>? TimesUnixMs { get; }

    public int Count => Values[0].Count;

    public int FeatureCount => Metrics.Count;

    /// <summary>The forecast metric's series.</summary>
    public IReadOnlyList<float> Target => Values[0];

    /// <summary>A single metric: the univariate model's input.</summary>
    public static FeatureSeries Univariate(string metric, IReadOnlyList<float> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return new FeatureSeries([metric], [values], null);
    }

    /// <summary>
    /// Series already aligned point for point (one sampler), which must therefore be equally long; a difference
    /// means they are not aligned and is refused, naming each metric's length.
    /// </summary>
    public static FeatureSeries Aligned(IReadOnlyList<string> metrics, IReadOnlyList<IReadOnlyList<float>> values, IReadOnlyList<long>? timesUnixMs = null)
    {
        Check(metrics, values.Count);
        if (values.Any(v => v.Count != values[0].Count) || (timesUnixMs is not null && timesUnixMs.Count != values[0].Count))
            throw new ArgumentException(
                "Series without common timestamps must come from one sampler and hold the same number of points, but " +
                string.Join(", ", metrics.Select((m, i) => $"{m} holds {values[i].Count}")) +
                (timesUnixMs is null ? "" : $" and there are {timesUnixMs.Count} timestamps") + ".", nameof(values));
        return new FeatureSeries(metrics.ToArray(), values.ToArray(), timesUnixMs);
    }

    /// <summary>
    /// Joins timestamped series on equal timestamps: a point is kept where every metric has a value at exactly that
    /// time (the collector stamps one scrape's metrics alike, so only gaps and points outside the common span drop).
    /// Series that share no timestamp were not sampled together and are refused, naming each one's span.
    /// </summary>
    public static FeatureSeries AlignByTime(IReadOnlyList<string> metrics, IReadOnlyList<(IReadOnlyList<long> TimesUnixMs, IReadOnlyList<float> Values)> series)
    {
        Check(metrics, series.Count);
        for (int f = 0; f < series.Count; f++)
        {
            if (series[f].TimesUnixMs.Count != series[f].Values.Count)
                throw new ArgumentException($"{metrics[f]}: {series[f].TimesUnixMs.Count} timestamps for {series[f].Values.Count} values.", nameof(series));
        }

        var at = new int[series.Count];
        var times = new List<long>();
        var values = series.Select(_ => new List<float>()).ToArray();
        while (Enumerable.Range(0, series.Count).All(f => at[f] < series[f].TimesUnixMs.Count))
        {
            long latest = Enumerable.Range(0, series.Count).Max(f => series[f].TimesUnixMs[at[f]]);
            bool all = true;
            for (int f = 0; f < series.Count; f++)
            {
                // Every series is sorted by time: skip what precedes the latest head.
                while (at[f] < series[f].TimesUnixMs.Count && series[f].TimesUnixMs[at[f]] < latest)
                    at[f]++;
                all &= at[f] < series[f].TimesUnixMs.Count && series[f].TimesUnixMs[at[f]] == latest;
            }

            if (!all)
                continue;
            times.Add(latest);
            for (int f = 0; f < series.Count; f++)
                values[f].Add(series[f].Values[at[f]++]);
        }

        if (times.Count == 0 && series.All(s => s.TimesUnixMs.Count > 0))
            throw new ArgumentException(
                "The input metrics share no timestamp, so they were not sampled together: " +
                string.Join(", ", metrics.Select((m, f) => $"{m} {Span(series[f].TimesUnixMs)}")) + ".", nameof(series));
        return new FeatureSeries(metrics.ToArray(), values, times);
    }

    /// <summary>
    /// A node's series of every input feature of <paramref name="config"/> (forecast metric, then input-metrics), aligned:
    /// by timestamp when the node's data has them (<see cref="ITimedNodeData"/>), otherwise as one sampler's equally long
    /// series. False, with the reason naming the metric, when the node lacks one.
    /// </summary>
    public static bool TryRead(INodeDataSource data, RunConfig config,
        [NotNullWhen(true)] out FeatureSeries? series, [NotNullWhen(false)] out string? unavailable)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(config);
        var metrics = config.InputFeatures();
        var values = new IReadOnlyList<float>[metrics.Count];
        for (int f = 0; f < metrics.Count; f++)
        {
            if (data.GetSeries(metrics[f]) is not { } held)
            {
                var what = f == 0 ? $"metric {metrics[f]}" : $"input metric {metrics[f]} ({RunConfigKeys.InputMetrics})";
                var why = data.UnavailableReason(metrics[f]);
                (series, unavailable) = (null, why is null ? $"{what} is not available on this node" : $"{what} is not available on this node: {why}");
                return false;
            }

            values[f] = held;
        }

        unavailable = null;
        if (metrics.Count == 1)
            series = data is ITimedNodeData one && one.Points(metrics[0]) is var (times, held) && held.Length == values[0].Count
                ? Aligned(metrics, [held], times)
                : Univariate(metrics[0], values[0]);
        else if (data is ITimedNodeData timed)
            series = AlignByTime(metrics, metrics.Select(m => timed.Points(m)).Select(p => ((IReadOnlyList<long>)p.TimesUnixMs, (IReadOnlyList<float>)p.Values)).ToList());
        else
            series = Aligned(metrics, values);
        return true;
    }

    /// <summary>This series if its features are those <paramref name="config"/> feeds the model, in that order; otherwise a clear error.</summary>
    public FeatureSeries For(RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var wanted = config.InputFeatures();
        if (!wanted.SequenceEqual(Metrics))
            throw new ArgumentException(
                $"The series hold [{string.Join(", ", Metrics)}] but the run-config's metric and input-metrics make the model read [{string.Join(", ", wanted)}].",
                nameof(config));
        return this;
    }

    private static void Check(IReadOnlyList<string> metrics, int seriesCount)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        if (metrics.Count == 0 || metrics.Count != seriesCount)
            throw new ArgumentException($"{metrics.Count} metric names for {seriesCount} series; a model reads at least one.", nameof(metrics));
    }

    private static string Span(IReadOnlyList<long> times) => times.Count == 0
        ? "has no points"
        : $"{DateTimeOffset.FromUnixTimeMilliseconds(times[0]):O}..{DateTimeOffset.FromUnixTimeMilliseconds(times[^1]):O}";
}
