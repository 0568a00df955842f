using IcosFl.Learning.NodeData;

namespace IcosFl.Dashboard;

/// <summary>A node whose data the serving process holds: its name, its role (controller or worker) and its data.</summary>
public sealed record HeldNode(string Node, string Role, INodeDataSource Data)
{
    public const string ControllerRole = "controller";
    public const string WorkerRole = "worker";
}

/// <summary>
/// Node data a host holds besides the controller's own, for the dashboard to forecast: the embedded simulation's workers
/// (all in one process). Defined here and implemented by the hosts, so the dashboard does not depend on the worker; a
/// deployed controller registers none, as worker data never leaves the workers.
/// </summary>
public interface IHeldNodeData
{
    IReadOnlyList<HeldNode> Nodes { get; }
}
