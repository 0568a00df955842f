namespace IcosFl.Contracts;

/// <summary>Event addressed to one worker: evaluate the given global model on your held-out data.</summary>
public sealed record EvaluationRequested
{
    public required Guid FederationId { get; init; }
    public required Guid RoundId { get; init; }
    public required int Round { get; init; }
    public required string WorkerId { get; init; }
    public required WeightsPayload GlobalWeights { get; init; }
    public required RunConfig RunConfig { get; init; }
    public required DateTimeOffset Deadline { get; init; }
}
