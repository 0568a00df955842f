namespace IcosFl.Contracts;

/// <summary>Event: all rounds of a federation completed.</summary>
public sealed record FederationCompleted
{
    public required Guid FederationId { get; init; }
    public required int Rounds { get; init; }
    public EvaluationMetrics? FinalCentralizedEval { get; init; }
    public required DateTimeOffset CompletedAt { get; init; }
}
