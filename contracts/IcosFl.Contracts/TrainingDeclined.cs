namespace IcosFl.Contracts;

/// <summary>Event: a selected worker cannot train this round (too little data, unavailable metric, ...).</summary>
public sealed record TrainingDeclined
{
    public required Guid FederationId { get; init; }
    public required Guid RoundId { get; init; }
    public required int Round { get; init; }
    public required string WorkerId { get; init; }
    public required string Reason { get; init; }
}
