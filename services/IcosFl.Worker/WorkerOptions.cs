namespace IcosFl.Worker;

/// <summary>Settings of one worker node.</summary>
public sealed record WorkerOptions
{
    /// <summary>The worker's id in the federation (unique per node; the host name by default).</summary>
    public required string WorkerId { get; init; }
    public string Host { get; init; } = Environment.MachineName;
    /// <summary>Seconds between heartbeats (heartbeat-interval; Flower uses 30, IcosFl 10).</summary>
    public double HeartbeatInterval { get; init; } = 10;
}
