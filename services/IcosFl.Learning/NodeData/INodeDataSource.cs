namespace IcosFl.Learning.NodeData;

/// <summary>A node's own metric history, oldest first, one value every scrape interval.</summary>
public interface INodeDataSource
{
    /// <summary>The node's series of a metric, or null when the node does not have that metric.</summary>
    IReadOnlyList<float>? GetSeries(string metric);

    /// <summary>Points held per metric (for heartbeats).</summary>
    IReadOnlyDictionary<string, int> DataPoints();

    /// <summary>Why the node has no series of <paramref name="metric"/> (e.g. "no Intel RAPL on this machine"), when it knows.</summary>
    string? UnavailableReason(string metric) => null;
}
