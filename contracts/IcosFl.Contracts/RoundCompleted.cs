namespace IcosFl.Contracts;

/// <summary>Event: a round aggregated and evaluated its new global model.</summary>
public sealed record RoundCompleted
{
    public required Guid FederationId { get; init; }
    public required Guid RoundId { get; init; }
    public required int Round { get; init; }
    public required IReadOnlyList<string> Participants { get; init; }
    /// <summary>Example-weighted mean of the participants' training losses (scaled MSE).</summary>
    public required double TrainLoss { get; init; }
    /// <summary>Example-weighted mean MSE of the federated evaluation (metric units); null if no worker evaluated.</summary>
    public double? EvalLoss { get; init; }
    public IReadOnlyList<string> Evaluators { get; init; } = [];
    /// <summary>The controller's evaluation of the new global model on its own node's data.</summary>
    public EvaluationMetrics? CentralizedEval { get; init; }
    public IReadOnlyList<RejectedUpdate> Rejected { get; init; } = [];
    public required double DurationMs { get; init; }
    /// <summary>The new global model.</summary>
    public required WeightsPayload GlobalWeights { get; init; }
    /// <summary>The strategy's server-side state after this round (FedAdam moments, momentum), if it keeps any.</summary>
    public WeightsPayload? ServerState { get; init; }
}
