namespace IcosFl.Contracts;

/// <summary>Event: a worker evaluated the global model, or declined to (then <see cref="Metrics"/> is null).</summary>
public sealed record EvaluationReported
{
    public required Guid FederationId { get; init; }
    public required Guid RoundId { get; init; }
    public required int Round { get; init; }
    public required string WorkerId { get; init; }
    public EvaluationMetrics? Metrics { get; init; }
    public string? DeclinedReason { get; init; }
}
