using IcosFl.Contracts;
using IcosFl.Controller.Messages;
using MassTransit;

namespace IcosFl.Controller.Sagas;

/// <summary>One attempt at one round: who was asked, who answered, and what came of it.</summary>
public sealed class RoundState : SagaStateMachineInstance, ISagaVersion
{
    public Guid CorrelationId { get; set; }
    public int Version { get; set; }
    public string CurrentState { get; set; } = "";

    public Guid FederationId { get; set; }
    public int Round { get; set; }
    public int Attempt { get; set; }
    public RunConfig RunConfig { get; set; } = RunConfig.Default;
    public List<string> Selected { get; set; } = [];
    public WeightsPayload? GlobalWeights { get; set; }
    public WeightsPayload? ServerState { get; set; }
    public DateTimeOffset OpenedAt { get; set; }
    public DateTimeOffset Deadline { get; set; }

    /// <summary>Counted updates, copied from the round's ledger when collecting ends (empty while collecting: read the ledger).</summary>
    public List<UpdateRecord> Updates { get; set; } = [];
    /// <summary>Selected workers that declined, went offline, or whose update was rejected (from the ledger, then the aggregator).</summary>
    public List<RejectedUpdate> Rejected { get; set; } = [];

    public Guid? DeadlineTokenId { get; set; }
    public Guid? EvaluationDeadlineTokenId { get; set; }
    public Guid? LivenessCheckTokenId { get; set; }

    public WeightsPayload? NewGlobalWeights { get; set; }
    public WeightsPayload? NewServerState { get; set; }
    public List<string> Used { get; set; } = [];
    public double TrainLoss { get; set; }
    public EvaluationMetrics? CentralizedEval { get; set; }

    public List<string> Evaluators { get; set; } = [];
    /// <summary>Evaluation reports, copied from the round's evaluation ledger when evaluating ends.</summary>
    public List<EvaluationReport> Evaluations { get; set; } = [];

    public string? Reason { get; set; }

    /// <summary>The worker has submitted, declined, been rejected or been given up on in this round.</summary>
    public bool HasAnswered(string workerId) =>
        Updates.Any(u => u.WorkerId == workerId) || Rejected.Any(r => r.WorkerId == workerId);

    /// <summary>Every selected worker has submitted, declined or been given up on.</summary>
    public bool AllSelectedAnswered() => Selected.All(HasAnswered);
}

public sealed record EvaluationReport(string WorkerId, EvaluationMetrics? Metrics, string? DeclinedReason);
