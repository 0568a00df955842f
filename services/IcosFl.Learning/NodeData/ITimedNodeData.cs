namespace IcosFl.Learning.NodeData;

/// <summary>
/// Node data that knows when each point was taken, so that several metrics can be aligned by timestamp
/// (<see cref="FeatureSeries.AlignByTime"/>) rather than by assuming one sampler.
/// </summary>
public interface ITimedNodeData : INodeDataSource
{
    /// <summary>A metric's points, oldest first: times in Unix milliseconds and values; empty arrays when it has none.</summary>
    (long[] TimesUnixMs, float[] Values) Points(string metric);
}
