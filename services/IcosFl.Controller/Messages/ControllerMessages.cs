using IcosFl.Contracts;

// Messages the controller sends to itself. They are not part of the public contracts: workers and
// operators never see them, but they travel over the same broker so that a restarted controller
// picks up where it stopped.
namespace IcosFl.Controller.Messages;

/// <summary>A validated StartFederation: the federation saga starts from it.</summary>
public sealed record FederationRequested
{
    public required Guid FederationId { get; init; }
    public required RunConfig RunConfig { get; init; }
    public string? RequestedBy { get; init; }
    /// <summary>Resuming: the model to start from (else fresh initial weights), its server state, and the first round to run (else 1).</summary>
    public WeightsPayload? InitialWeights { get; init; }
    public WeightsPayload? InitialServerState { get; init; }
    public int? StartRound { get; init; }
    public Guid? ResumedFrom { get; init; }
}

/// <summary>Scheduled while a federation waits for enough live workers.</summary>
public sealed record QuorumCheckDue(Guid FederationId);

/// <summary>Scheduled when a round opens: fires only if the round never reported back.</summary>
public sealed record RoundOverdue(Guid FederationId, Guid RoundId);

/// <summary>The federation saga opened a round; the round saga starts from it.</summary>
public sealed record RoundOpened
{
    public required Guid FederationId { get; init; }
    public required Guid RoundId { get; init; }
    public required int Round { get; init; }
    public required int Attempt { get; init; }
    public required RunConfig RunConfig { get; init; }
    public required IReadOnlyList<string> SelectedWorkers { get; init; }
    public required WeightsPayload GlobalWeights { get; init; }
    public WeightsPayload? ServerState { get; init; }
    public required DateTimeOffset OpenedAt { get; init; }
}

/// <summary>A round's training deadline (scheduled when the round opens).</summary>
public sealed record RoundDeadlineReached(Guid RoundId);

/// <summary>A round's evaluation deadline (scheduled when federated evaluation starts).</summary>
public sealed record EvaluationDeadlineReached(Guid RoundId);

/// <summary>Periodic check, while a round collects, that its selected workers are still alive.</summary>
public sealed record RoundLivenessCheckDue(Guid RoundId);

/// <summary>Every selected worker of the round has answered (the answer that completed the round's ledger sends it).</summary>
public sealed record RoundCollected(Guid RoundId);

/// <summary>Every evaluator of the round has reported (the report that completed the evaluation ledger sends it).</summary>
public sealed record RoundEvaluated(Guid RoundId);

/// <summary>An accepted-for-counting update: where its weights were put aside, and its numbers.</summary>
/// <param name="ArrivedAt">When the controller recorded it (its own clock; the round timeline measures from the round's opening).</param>
public sealed record UpdateRecord(string WorkerId, int NumExamples, TrainMetrics Metrics, WeightsPayload Weights, DateTimeOffset? ArrivedAt = null);

/// <summary>Command to the aggregator: combine these updates into the next global model.</summary>
public sealed record AggregateRound
{
    public required Guid FederationId { get; init; }
    public required Guid RoundId { get; init; }
    public required int Round { get; init; }
    public required int Attempt { get; init; }
    public required RunConfig RunConfig { get; init; }
    public required WeightsPayload GlobalWeights { get; init; }
    public WeightsPayload? ServerState { get; init; }
    public required IReadOnlyList<UpdateRecord> Updates { get; init; }
}

/// <summary>The aggregator's answer: the new global model, evaluated on the controller's own data.</summary>
public sealed record RoundAggregated
{
    public required Guid FederationId { get; init; }
    public required Guid RoundId { get; init; }
    public required WeightsPayload NewGlobalWeights { get; init; }
    public WeightsPayload? ServerState { get; init; }
    public required IReadOnlyList<string> Used { get; init; }
    public required IReadOnlyList<RejectedUpdate> Rejected { get; init; }
    public required double TrainLoss { get; init; }
    public EvaluationMetrics? CentralizedEval { get; init; }
    public string? CentralizedEvalSkipped { get; init; }
    /// <summary>Workers chosen to evaluate the new model (may be empty).</summary>
    public required IReadOnlyList<string> Evaluators { get; init; }
}

/// <summary>The aggregator could not produce a new model (every update rejected, ...).</summary>
public sealed record RoundAggregationFailed
{
    public required Guid FederationId { get; init; }
    public required Guid RoundId { get; init; }
    public required string Reason { get; init; }
    public required IReadOnlyList<RejectedUpdate> Rejected { get; init; }
}
