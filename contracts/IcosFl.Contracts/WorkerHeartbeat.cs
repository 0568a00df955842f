namespace IcosFl.Contracts;

/// <summary>Event: a worker is alive. Sent every heartbeat-interval seconds.</summary>
public sealed record WorkerHeartbeat
{
    public required string WorkerId { get; init; }
    public required string Host { get; init; }
    /// <summary>Data points held per metric name (cpu_usage, memory_usage, power_consumption).</summary>
    public required IReadOnlyDictionary<string, int> DataPoints { get; init; }
    public required DateTimeOffset Timestamp { get; init; }
    /// <summary>Seconds between heartbeats, so the controller can judge liveness per worker.</summary>
    public double IntervalSeconds { get; init; } = 10;
}
