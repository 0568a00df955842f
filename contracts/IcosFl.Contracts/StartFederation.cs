namespace IcosFl.Contracts;

/// <summary>Command: start a new federation with the given run configuration.</summary>
/// <remarks>
/// A non-.NET client may leave <see cref="RunConfig"/> out and give <see cref="RunConfigText"/>
/// instead ("num-server-rounds=5 metric=memory_usage"); when both are given the text overrides.
/// With <see cref="ResumeFrom"/>, the new federation starts from that federation's latest checkpoint on the
/// controller: its weights, server state and run config (which <see cref="RunConfig"/> then replaces and the text
/// overrides), at the round after the checkpoint's, up to num-server-rounds in all.
/// </remarks>
public sealed record StartFederation
{
    public required Guid FederationId { get; init; }
    public RunConfig? RunConfig { get; init; }
    public string? RunConfigText { get; init; }
    public string? RequestedBy { get; init; }
    public Guid? ResumeFrom { get; init; }
}
