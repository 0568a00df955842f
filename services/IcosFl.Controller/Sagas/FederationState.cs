using IcosFl.Contracts;
using IcosFl.Controller.Workers;
using MassTransit;

namespace IcosFl.Controller.Sagas;

/// <summary>One federation: its configuration, where it is, and the history of its rounds.</summary>
public sealed class FederationState : SagaStateMachineInstance, ISagaVersion
{
    public Guid CorrelationId { get; set; }
    public int Version { get; set; }
    public string CurrentState { get; set; } = "";

    public RunConfig RunConfig { get; set; } = RunConfig.Default;
    /// <summary>The round in progress, or the next to start (1-based).</summary>
    public int Round { get; set; }
    /// <summary>1 for a round's first try, 2 for its first retry, ...</summary>
    public int Attempt { get; set; }
    public Guid? CurrentRoundId { get; set; }
    public Guid? QuorumCheckTokenId { get; set; }
    public Guid? RoundWatchdogTokenId { get; set; }
    /// <summary>Live workers seen at the last quorum check (to log changes only).</summary>
    public int LastAliveCount { get; set; } = -1;
    /// <summary>Ready workers seen at the last quorum check (to log changes only).</summary>
    public int LastReadyCount { get; set; } = -1;
    /// <summary>When the waiting reason was last logged (it is logged again at least once a minute while it changes).</summary>
    public DateTimeOffset? WaitLoggedAt { get; set; }
    /// <summary>Why the federation waits (too few ready workers, or a retry's delay), for status and the HTTP API; null when it does not.</summary>
    public string? Waiting { get; set; }
    /// <summary>Since when the federation has waited for quorum before the next round (quorum-timeout counts from here); null when it does not.</summary>
    public DateTimeOffset? WaitingSince { get; set; }
    /// <summary>Per worker, the first report of its scarcest input metric seen while waiting: how fast its data grows.</summary>
    public Dictionary<string, PointsSeen> PointsFirstSeen { get; set; } = [];

    public WeightsPayload? GlobalWeights { get; set; }
    /// <summary>The strategy's server-side state (momentum, Adam moments), carried across rounds and restarts.</summary>
    public WeightsPayload? ServerState { get; set; }
    /// <summary>The federation whose checkpoint this one resumed, if any: where its first round's model can be regained from.</summary>
    public Guid? ResumedFrom { get; set; }

    public List<RoundSummary> Rounds { get; set; } = [];
    public int? BestRound { get; set; }
    public EvaluationMetrics? BestCentralizedEval { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public string? Reason { get; set; }
}

/// <summary>What a federation remembers of each round attempt.</summary>
public sealed record RoundSummary(
    int Round,
    Guid RoundId,
    int Attempt,
    string State,
    IReadOnlyList<string> Participants,
    double? TrainLoss,
    double? EvalLoss,
    EvaluationMetrics? CentralizedEval,
    double? DurationMs,
    string? Reason,
    IReadOnlyList<RejectedUpdate> Rejected);
