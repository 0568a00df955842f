namespace IcosFl.Contracts;

/// <summary>Command: stop a running federation after the current message; no further rounds start.</summary>
public sealed record StopFederation
{
    public required Guid FederationId { get; init; }
    public string? Reason { get; init; }
}
