namespace IcosFl.Controller;

/// <summary>Settings of the controller node (not of a federation: those are in RunConfig).</summary>
public sealed record ControllerOptions
{
    /// <summary>A worker silent for this many of its heartbeat intervals is offline (Flower: 2).</summary>
    public int HeartbeatPatience { get; init; } = 2;

    /// <summary>How often a federation waiting for quorum looks at the worker registry again.</summary>
    public TimeSpan QuorumPollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How often a collecting round checks that its selected workers are still alive.</summary>
    public TimeSpan LivenessCheckInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The controller node's own name, used in logs and for its centralized evaluation.</summary>
    public string NodeName { get; init; } = "controller";
}
