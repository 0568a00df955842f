namespace IcosFl.Contracts;

/// <summary>
/// Event addressed to one selected worker: a training round started and it takes part.
/// One message is sent per selected worker (routing key = <see cref="WorkerId"/>), so a worker
/// that was not selected never receives the global weights. It does not name the other selected workers: a worker
/// has no use for them, an untrusted one should not learn them, and the list made a round's fan-out grow with the
/// square of the fleet (1,000 workers: 1,000 messages of 1,000 ids each).
/// </summary>
public sealed record RoundStarted
{
    public required Guid FederationId { get; init; }
    public required Guid RoundId { get; init; }
    public required int Round { get; init; }
    /// <summary>The addressee.</summary>
    public required string WorkerId { get; init; }
    public required WeightsPayload GlobalWeights { get; init; }
    public required RunConfig RunConfig { get; init; }
    public required DateTimeOffset Deadline { get; init; }
}
