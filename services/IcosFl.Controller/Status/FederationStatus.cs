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

/// <summary>
/// One round's timeline: for every selected worker, what became of it and when its update arrived, measured on the
/// controller's clock from the round's opening; <see cref="WorkerTimeline.TrainingMs"/> is the worker's own report of
/// its local training. The arrival minus the training is the time the round start and the update spent travelling
/// and queued (with the worker's data reading): a straggler is slow in one or the other.
/// </summary>
public sealed record RoundTimeline(int Round, int Attempt, Guid RoundId, string State, DateTimeOffset OpenedAt,
    IReadOnlyList<WorkerTimeline> Workers);

/// <param name="Outcome">counted, rejected (by validation or the strategy), declined, left out (gave up: offline or too late),
/// waiting (the round still collects) or no answer.</param>
public sealed record WorkerTimeline(string WorkerId, string Outcome, double? ArrivedAfterMs, double? TrainingMs, string? Reason);
