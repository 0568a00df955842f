namespace IcosFl.Contracts;

/// <summary>Event: a federation gave up (invalid config, retries exhausted, ...).</summary>
public sealed record FederationFailed
{
    public required Guid FederationId { get; init; }
    public required string Reason { get; init; }
    public int CompletedRounds { get; init; }
    public required DateTimeOffset FailedAt { get; init; }
}
