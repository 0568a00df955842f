namespace IcosFl.Contracts;

/// <summary>Event: the controller accepted a StartFederation command and is waiting for quorum.</summary>
public sealed record FederationStarted
{
    public required Guid FederationId { get; init; }
    public required RunConfig RunConfig { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
}
