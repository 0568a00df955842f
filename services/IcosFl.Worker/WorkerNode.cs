using System.Diagnostics.CodeAnalysis;
using IcosFl.Contracts;
using IcosFl.Learning;
using IcosFl.Learning.NodeData;

namespace IcosFl.Worker;

/// <summary>One worker: who it is and the node data it trains on. Several may live in one process (embedded mode).</summary>
/// <param name="Adversary">
/// Simulation only: rewrites this worker's trained weights before they are sent (scaled, sign-flipped,
/// NaN), to test how strategies withstand a broken or hostile node. Null for every real worker.
/// </param>
public sealed record WorkerNode(WorkerOptions Options, INodeDataSource Data, Func<ModelWeights, ModelWeights, ModelWeights>? Adversary = null)
{
    public string WorkerId => Options.WorkerId;

    /// <summary>
    /// This node's series of every input the run's model reads (forecast metric, then input-metrics), aligned; false with
    /// the reason (a metric the node lacks, or series that cannot be aligned) for the worker to decline with.
    /// </summary>
    public bool TryReadSeries(RunConfig config, [NotNullWhen(true)] out FeatureSeries? series, [NotNullWhen(false)] out string? unavailable)
    {
        try
        {
            return FeatureSeries.TryRead(Data, config, out series, out unavailable);
        }
        catch (ArgumentException e)
        {
            (series, unavailable) = (null, $"cannot align this node's series: {e.Message}");
            return false;
        }
    }

    /// <summary>
    /// A training seed of its own for each worker and round, stable across processes
    /// (string.GetHashCode is randomised per process, so FNV-1a here).
    /// </summary>
    public int TrainingSeed(int configSeed, int round) =>
        (int)((StableHash(WorkerId) ^ (uint)configSeed * 31u ^ (uint)round * 7919u) & 0x7fffffff);

    /// <summary>FNV-1a of a name: the same in every process, unlike string.GetHashCode.</summary>
    public static uint StableHash(string name)
    {
        var hash = 2166136261u;
        foreach (var c in name)
            hash = (hash ^ c) * 16777619u;
        return hash;
    }
}
