namespace IcosFl.Contracts;

/// <summary>Command: start a new federation with the given run configuration.</summary>
/// <remarks>
/// A non-.NET client may leave <see cref="RunConfig"/> out and give <see cref="RunConfigText"/>
/// instead ("num-server-rounds=5 metric=memory_usage"); when both are given the text overrides.
/// </remarks>
public sealed record StartFederation
{
    public required Guid FederationId { get; init; }
    public RunConfig? RunConfig { get; init; }
    public string? RunConfigText { get; init; }
    public string? RequestedBy { get; init; }
}
