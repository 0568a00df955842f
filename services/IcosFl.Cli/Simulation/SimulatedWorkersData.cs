using IcosFl.Dashboard;
using IcosFl.Worker;

namespace IcosFl.Cli.Simulation;

/// <summary>The embedded simulation's workers, all in this process: their data, for the dashboard to forecast.</summary>
public sealed class SimulatedWorkersData(IReadOnlyList<WorkerNode> workers) : IHeldNodeData
{
    public IReadOnlyList<HeldNode> Nodes { get; } = workers.Select(w => new HeldNode(w.WorkerId, HeldNode.WorkerRole, w.Data)).ToList();
}
