using System.Diagnostics.CodeAnalysis;
using IcosFl.Contracts;
using IcosFl.Learning;

namespace IcosFl.Controller.Strategies;

/// <summary>
/// The strategy seam, after Flower's Strategy: the federation's initial model (initialize_parameters), which
/// workers train and evaluate (configure_fit, configure_evaluate), how their results combine (aggregate_fit,
/// aggregate_evaluate), and the controller's own evaluation of each new model (evaluate). Each method has one
/// caller in the round's flow: <see cref="InitializeParameters"/> when a federation is accepted
/// (InitializeFederationActivity), <see cref="ConfigureTrain"/> when a round opens (OpenRoundActivity),
/// <see cref="AggregateTrain"/>, <see cref="Evaluate"/> and <see cref="ConfigureEvaluate"/> in the aggregator
/// (AggregateRoundConsumer), <see cref="AggregateEvaluate"/> when the round saga completes (RoundStateMachine).
/// Pure: no I/O, no clocks, no shared randomness (sampling is seeded by the caller); the controller's data reaches
/// <see cref="Evaluate"/> through <see cref="IControllerData"/>.
/// </summary>
public interface IStrategy
{
    string Name { get; }

    /// <summary>The global model a new federation starts from. Must depend on the config alone (its seed): a lost copy is drawn again.</summary>
    ModelWeights InitializeParameters(RunConfig config);

    /// <summary>Workers to train in this round, chosen from the ready ones.</summary>
    IReadOnlyList<string> ConfigureTrain(RoundContext round, IReadOnlyList<string> availableWorkers);

    /// <summary>Combines the accepted updates into the next global model.</summary>
    AggregationResult AggregateTrain(RoundContext round, ModelWeights global, IReadOnlyList<ClientUpdate> updates, ModelWeights? serverState);

    /// <summary>Centralized evaluation: the new global model on the controller's own data.</summary>
    CentralizedEvaluation Evaluate(RoundContext round, ModelWeights global, IControllerData data);

    /// <summary>Workers to evaluate the new global model, chosen from the ready ones (none is a valid answer).</summary>
    IReadOnlyList<string> ConfigureEvaluate(RoundContext round, IReadOnlyList<string> availableWorkers);

    /// <summary>Combines the workers' evaluations into the round's evaluation loss.</summary>
    EvaluationSummary AggregateEvaluate(RoundContext round, IReadOnlyList<ClientEvaluation> results);
}

/// <summary>
/// The controller node's own data, as centralized evaluation reads it (the data behind Flower's evaluate_fn). The
/// controller implements it over its node data; a strategy only asks.
/// </summary>
public interface IControllerData
{
    /// <summary>The node's series of the config's input features, aligned; false with the reason when the node lacks one.</summary>
    bool TryRead(RunConfig config, [NotNullWhen(true)] out FeatureSeries? series, [NotNullWhen(false)] out string? missing);
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

/// <param name="Metrics">The controller's evaluation of the new global model, or null when it could not evaluate.</param>
/// <param name="Skipped">Why there is no evaluation (the node lacks a metric, or enough points); null when there is one.</param>
public sealed record CentralizedEvaluation(EvaluationMetrics? Metrics, string? Skipped);
