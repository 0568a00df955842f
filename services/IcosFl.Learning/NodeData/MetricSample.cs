using IcosFl.Contracts;

namespace IcosFl.Learning.NodeData;

/// <summary>One value of one metric at one time, in the metric's units.</summary>
public readonly record struct MetricSample(string Metric, DateTimeOffset Timestamp, double Value);

/// <summary>The series a node stores: ICOS-FL's three metrics plus CPU utilisation in %.</summary>
public static class NodeMetrics
{
    /// <summary>CPU utilisation in % over the last scrape interval (from /proc/stat), beside the load average.</summary>
    public const string CpuUtilisation = "cpu_utilisation";

    public static IReadOnlyList<string> All { get; } = [.. Metrics.All, CpuUtilisation];

    /// <summary>Checks a metric name, naming the known ones when it is not one of them.</summary>
    public static string Require(string metric)
    {
        ArgumentNullException.ThrowIfNull(metric);
        return All.Contains(metric)
            ? metric
            : throw new ArgumentException($"Unknown metric '{metric}'; known metrics: {string.Join(", ", All)}.", nameof(metric));
    }
}
