using IcosFl.Contracts;

namespace IcosFl.Controller.Strategies;

/// <summary>
/// The strategy seam, after Flower's: which workers train and evaluate, and how their results
/// combine. Pure: no I/O, no clocks, no shared randomness (sampling is seeded by the caller).
/// </summary>
public interface IStrategy
{
    string Name { get; }

    /// <summary>Workers to train in this round, chosen from the live ones.</summary>
    IReadOnlyList<string> ConfigureTrain(RoundContext round, IReadOnlyList<string> availableWorkers);

    /// <summary>Combines the accepted updates into the next global model.</summary>
    AggregationResult AggregateTrain(RoundContext round, ModelWeights global, IReadOnlyList<ClientUpdate> updates, ModelWeights? serverState);

    /// <summary>Workers to evaluate the new global model.</summary>
    IReadOnlyList<string> ConfigureEvaluate(RoundContext round, IReadOnlyList<string> availableWorkers);

    /// <summary>Combines the workers' evaluations (example-weighted).</summary>
    EvaluationSummary AggregateEvaluate(RoundContext round, IReadOnlyList<ClientEvaluation> results);
}

/// <summary>What a strategy may know about the round it works on.</summary>
/// <param name="Round">1-based round number.</param>
/// <param name="Attempt">1 for a round's first try, 2 for its first retry, ...</param>
public sealed record RoundContext(int Round, int Attempt, RunConfig Config)
{
    /// <summary>Seed for this round's sampling: the same round and attempt always sample the same workers.</summary>
    /// (HashCode.Combine is randomised per process, so a restarted controller would sample differently.)
    public int SamplingSeed => unchecked((Config.Seed * 1_000_003) + (Round * 7_919) + Attempt) & 0x7fffffff;
}

public sealed record ClientUpdate(string WorkerId, ModelWeights Weights, int NumExamples, TrainMetrics Metrics);

public sealed record ClientEvaluation(string WorkerId, EvaluationMetrics Metrics);

/// <param name="Global">The new global model.</param>
/// <param name="ServerState">Strategy state carried to the next round (momentum, Adam moments), or null.</param>
/// <param name="Used">Workers whose updates went into <see cref="Global"/>.</param>
/// <param name="Rejected">Updates left out, each with its reason.</param>
/// <param name="TrainLoss">Example-weighted mean training loss of the used updates.</param>
/// <param name="ValidCount">
/// Updates that passed validation: the used ones plus those the strategy chose to leave out (Krum keeps
/// one). What min-fit-clients is checked against, since a selecting strategy uses fewer by design.
/// </param>
public sealed record AggregationResult(
    ModelWeights Global,
    ModelWeights? ServerState,
    IReadOnlyList<string> Used,
    IReadOnlyList<RejectedUpdate> Rejected,
    double TrainLoss,
    int ValidCount);

/// <param name="Loss">Example-weighted mean MSE (metric units), null when nobody evaluated.</param>
public sealed record EvaluationSummary(double? Loss, EvaluationMetrics? Metrics, IReadOnlyList<string> Evaluators);
