namespace IcosFl.Contracts;

/// <summary>Event: a worker is shutting down cleanly; the controller need not wait for its heartbeats to lapse.</summary>
public sealed record WorkerStopping
{
    public required string WorkerId { get; init; }
    public required DateTimeOffset Timestamp { get; init; }
}
