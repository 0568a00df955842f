namespace IcosFl.Controller.Workers;

/// <summary>What the controller knows of a worker from its heartbeats.</summary>
public sealed record WorkerInfo(
    string WorkerId,
    string Host,
    DateTimeOffset LastHeartbeat,
    double IntervalSeconds,
    IReadOnlyDictionary<string, int> DataPoints,
    bool Stopped)
{
    /// <summary>
    /// Alive while the last heartbeat is younger than heartbeat-patience intervals (Flower: 30 s x 2)
    /// and the worker has not said it is stopping.
    /// </summary>
    public bool IsAlive(DateTimeOffset now, int patience) =>
        !Stopped && now - LastHeartbeat <= TimeSpan.FromSeconds(IntervalSeconds * patience);
}
