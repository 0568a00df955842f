namespace IcosFl.Learning.NodeData;

/// <summary>What appending did: points stored, points whose timestamp was already held (kept as they were), points dropped by the limits.</summary>
public sealed record AppendResult(int Added, int AlreadyHeld, int Dropped);

/// <summary>One metric of a node store, summarised.</summary>
/// <param name="Unavailable">Why the node cannot measure this metric (e.g. no RAPL), when it said so; null otherwise.</param>
public sealed record MetricSummary(string Metric, int Points, DateTimeOffset? First, DateTimeOffset? Last, double? LastValue, string? Unavailable);

/// <summary>What a node holds.</summary>
public sealed record NodeDataSummary(string Node, string Store, IReadOnlyList<MetricSummary> Metrics);

/// <summary>
/// A node's own capped metric history that collectors and imports write and training reads.
/// A metric marked unavailable with no points reads as absent (<see cref="INodeDataSource.GetSeries"/> is null),
/// with the reason from <see cref="INodeDataSource.UnavailableReason"/>; points, e.g. imported ones, win over the mark.
/// </summary>
public interface INodeStore : ITimedNodeData
{
    AppendResult Append(IReadOnlyList<MetricSample> samples);

    /// <summary>Notes that the node cannot measure <paramref name="metric"/>; null clears the note.</summary>
    void MarkUnavailable(string metric, string? reason);

    NodeDataSummary Summarise();
}

/// <summary>What every store checks before it stores a batch, so a refused batch stores nothing.</summary>
public static class NodeStoreSamples
{
    public static void Check(MetricSample sample)
    {
        NodeMetrics.Require(sample.Metric);
        if (!double.IsFinite(sample.Value))
            throw new ArgumentException($"{sample.Metric} at {sample.Timestamp:O} is {sample.Value}; only finite values are stored.", "samples");
        // Stores keep float32, as the model reads them: a finite double beyond float's range would become infinity.
        if (!float.IsFinite((float)sample.Value))
            throw new ArgumentException(
                $"{sample.Metric} at {sample.Timestamp:O} is {sample.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)}, beyond the float32 range (about ±3.4e38) values are stored in.",
                "samples");
    }
}
