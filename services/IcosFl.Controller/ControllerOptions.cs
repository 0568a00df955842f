namespace IcosFl.Controller;

/// <summary>Settings of the controller node (not of a federation: those are in RunConfig).</summary>
public sealed record ControllerOptions
{
    /// <summary>A worker silent for this many of its heartbeat intervals is offline (Flower: 2).</summary>
    public int HeartbeatPatience { get; init; } = 2;

    /// <summary>
    /// How long an update sent as chunks waits for the last of them to be stored (they are queued before the update, but
    /// the chunk endpoint may lag behind): past it the update counts as the worker's decline, naming what is missing.
    /// </summary>
    public TimeSpan UploadPatience { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How often a federation waiting for quorum looks at the worker registry again.</summary>
    public TimeSpan QuorumPollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How often a collecting round checks that its selected workers are still alive.</summary>
    public TimeSpan LivenessCheckInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Heartbeats of one worker closer together than this are not recorded (<see cref="Workers.HeartbeatThrottle"/>);
    /// zero records every one.
    /// </summary>
    public TimeSpan HeartbeatMinimumGap { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The controller node's own name, used in logs and for its centralized evaluation.</summary>
    public string NodeName { get; init; } = "controller";

    /// <summary>
    /// How a worker's message is tied to its sender (issue 16): by the broker's user_id by default. The embedded
    /// simulation, which has no broker, sets <see cref="Workers.WorkerAuthentication.InProcessTrusted"/>.
    /// </summary>
    public Workers.WorkerAuthentication WorkerAuthentication { get; init; } = Workers.WorkerAuthentication.Broker;

    /// <summary>
    /// Development mode: a broker user every worker shares (compose's icosfl-worker, for --scale worker=N), accepted
    /// for any WorkerId. Null (the default) accepts only each worker's own node user, icosfl-node-{WorkerId}.
    /// </summary>
    public string? SharedWorkerUser { get; init; }
}
