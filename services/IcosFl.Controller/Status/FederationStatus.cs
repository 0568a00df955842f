namespace IcosFl.Controller.Status;

/// <summary>A federation as operators see it (icosfl status --json, and the HTTP API).</summary>
public sealed record FederationStatus(
    Guid FederationId,
    // Running, Completed, Failed or Stopped.
    string State,
    // Where a running federation is (WaitingForQuorum or Running); else the state.
    string Phase,
    int Round,
    int NumServerRounds,
    string Metric,
    string Strategy,
    IReadOnlyList<RoundStatus> Rounds,
    IReadOnlyList<WorkerStatus> Workers,
    string? Reason,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    // Why a running federation waits (too few workers ready for its run config, or a failed round's retry delay).
    string? Waiting = null);

public sealed record RoundStatus(
    int Round,
    int Attempt,
    Guid RoundId,
    string State,
    IReadOnlyList<string> Participants,
    double? TrainLoss,
    double? EvalLoss,
    double? CentralizedRmse,
    double? DurationMs,
    string? Reason,
    IReadOnlyList<Contracts.RejectedUpdate> Rejected);

public sealed record WorkerStatus(string Id, string Host, bool Alive, DateTimeOffset LastHeartbeat, IReadOnlyDictionary<string, int> DataPoints);
