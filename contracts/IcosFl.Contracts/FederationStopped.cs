namespace IcosFl.Contracts;

/// <summary>Event: a federation was stopped by a StopFederation command.</summary>
public sealed record FederationStopped
{
    public required Guid FederationId { get; init; }
    public string? Reason { get; init; }
    public int CompletedRounds { get; init; }
    public required DateTimeOffset StoppedAt { get; init; }
}
