using IcosFl.Contracts;

namespace IcosFl.Learning.NodeData;

/// <summary>
/// A node of the embedded simulation: synthetic series of every metric, made by
/// <see cref="SyntheticFleet"/> for this node's index, so each node's data differs (non-IID on purpose).
/// </summary>
public sealed class SyntheticNodeData : INodeDataSource
{
    private readonly Dictionary<string, float[]> _series;

    public SyntheticNodeData(int nodeIndex, int length, int seed)
    {
        // One generation of the node's workload gives every metric (Series per metric would generate it once each).
        _series = new Dictionary<string, float[]>(SyntheticFleet.Node(nodeIndex, length, seed));
    }

    public IReadOnlyList<float>? GetSeries(string metric) => _series.GetValueOrDefault(metric);

    public IReadOnlyDictionary<string, int> DataPoints() => _series.ToDictionary(p => p.Key, p => p.Value.Length);
}
