namespace IcosFl.Contracts;

/// <summary>Event: a round ended without a new global model (too few updates by the deadline, ...).</summary>
public sealed record RoundFailed
{
    public required Guid FederationId { get; init; }
    public required Guid RoundId { get; init; }
    public required int Round { get; init; }
    public required int Attempt { get; init; }
    public required string Reason { get; init; }
}
