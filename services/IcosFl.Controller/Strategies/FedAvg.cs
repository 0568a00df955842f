using IcosFl.Contracts;
using StrategyNames = IcosFl.Contracts.Strategies;

namespace IcosFl.Controller.Strategies;

/// <summary>
/// Federated Averaging (McMahan et al. 2017), after Flower's FedAvg, and the base of the other strategies
/// as in Flower: sampling, update validation, training-loss and evaluation aggregation live here; a
/// subclass only changes how the accepted updates combine (<see cref="Combine"/>).
/// </summary>
/// <remarks>
/// Sampling and validation read the round's config (fraction-fit, min-fit-clients, fraction-evaluate,
/// min-evaluate-clients, max-update-norm); the algorithm's own hyperparameters are fixed at construction.
/// </remarks>
public class FedAvg : IStrategy
{
    // Evaluation sampling must not repeat training sampling's permutation for the same round.
    private const int EvaluateSeedSalt = 0x2545F491;

    public virtual string Name => StrategyNames.FedAvg;

    public IReadOnlyList<string> ConfigureTrain(RoundContext round, IReadOnlyList<string> availableWorkers) =>
        ClientSampling.Sample(availableWorkers, round.Config.FractionFit, round.Config.MinFitClients, round.SamplingSeed);

    /// <summary>No evaluation when fraction-evaluate is 0 (as Flower); otherwise sampled like training.</summary>
    public IReadOnlyList<string> ConfigureEvaluate(RoundContext round, IReadOnlyList<string> availableWorkers) =>
        round.Config.FractionEvaluate == 0.0
            ? []
            : ClientSampling.Sample(availableWorkers, round.Config.FractionEvaluate, round.Config.MinEvaluateClients,
                round.SamplingSeed ^ EvaluateSeedSalt);

    /// <summary>
    /// Validates every update (<see cref="UpdateValidator"/>), combines the valid ones and reports the
    /// example-weighted training loss of those used.
    /// </summary>
    /// <exception cref="AggregationException">No update is valid, or the server state does not fit the model.</exception>
    public AggregationResult AggregateTrain(RoundContext round, ModelWeights global, IReadOnlyList<ClientUpdate> updates, ModelWeights? serverState)
    {
        var (accepted, rejected) = Screen(round, global, updates);
        var combination = Combine(round, global, accepted, serverState);
        return new AggregationResult(
            combination.Global,
            combination.ServerState,
            combination.Used.Select(u => u.WorkerId).ToArray(),
            [.. rejected, .. combination.LeftOut],
            TrainLoss(combination.Used));
    }

    /// <summary>
    /// Example-weighted means over the workers that evaluated on at least one example. RMSE is the root of
    /// the pooled MSE (the RMSE over all their examples together), not a mean of the workers' RMSEs.
    /// </summary>
    public EvaluationSummary AggregateEvaluate(RoundContext round, IReadOnlyList<ClientEvaluation> results)
    {
        var counted = results
            .Where(r => r.Metrics is { NumExamples: > 0 } m && double.IsFinite(m.Mse) && double.IsFinite(m.Mae)
                && double.IsFinite(m.PersistenceMse) && double.IsFinite(m.PersistenceMae))
            .ToArray();
        if (counted.Length == 0)
        {
            return new EvaluationSummary(null, null, []);
        }

        var weights = counted.Select(r => (double)r.Metrics.NumExamples).ToArray();
        double Mean(Func<EvaluationMetrics, double> metric) =>
            Aggregation.WeightedMean(counted.Select(r => metric(r.Metrics)).ToArray(), weights);

        var mse = Mean(m => m.Mse);
        var persistenceMse = Mean(m => m.PersistenceMse);
        var metrics = new EvaluationMetrics(
            NumExamples: counted.Sum(r => r.Metrics.NumExamples),
            Mse: mse,
            Rmse: Math.Sqrt(mse),
            Mae: Mean(m => m.Mae),
            PersistenceMse: persistenceMse,
            PersistenceRmse: Math.Sqrt(persistenceMse),
            PersistenceMae: Mean(m => m.PersistenceMae));
        return new EvaluationSummary(mse, metrics, counted.Select(r => r.WorkerId).ToArray());
    }

    /// <summary>How the accepted (already validated, at least one) updates become the next global model.</summary>
    protected virtual Combination Combine(RoundContext round, ModelWeights global, IReadOnlyList<ClientUpdate> accepted, ModelWeights? serverState) =>
        new(Average(accepted), null, accepted, []);

    /// <summary>The example-weighted average of the updates (Flower's aggregate).</summary>
    protected static ModelWeights Average(IReadOnlyList<ClientUpdate> updates) =>
        Aggregation.WeightedAverage(updates.Select(u => u.Weights).ToArray(), updates.Select(u => (double)u.NumExamples).ToArray());

    /// <summary>Splits updates into valid ones and rejections; throws when none is valid.</summary>
    internal static (IReadOnlyList<ClientUpdate> Accepted, IReadOnlyList<RejectedUpdate> Rejected) Screen(
        RoundContext round, ModelWeights global, IReadOnlyList<ClientUpdate> updates)
    {
        var accepted = new List<ClientUpdate>(updates.Count);
        var rejected = new List<RejectedUpdate>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var update in updates)
        {
            var problem = seen.Add(update.WorkerId)
                ? UpdateValidator.FindProblem(global, update, round.Config)
                : "sent a second update in the same round; only the first counts";
            if (problem is null)
            {
                accepted.Add(update);
            }
            else
            {
                rejected.Add(new RejectedUpdate(update.WorkerId, problem));
            }
        }

        if (accepted.Count == 0)
        {
            var reasons = rejected.Count == 0
                ? "no updates arrived"
                : string.Join("; ", rejected.Select(r => $"{r.WorkerId} {r.Reason}"));
            throw new AggregationException(
                $"Round {round.Round} (attempt {round.Attempt}): none of the {updates.Count} updates can be aggregated: {reasons}.",
                rejected);
        }

        return (accepted, rejected);
    }

    private static double TrainLoss(IReadOnlyList<ClientUpdate> used) =>
        Aggregation.WeightedMean(used.Select(u => u.Metrics.Loss).ToArray(), used.Select(u => (double)u.NumExamples).ToArray());

    /// <param name="Global">The next global model.</param>
    /// <param name="ServerState">State for the next round, or null.</param>
    /// <param name="Used">Accepted updates that went into <paramref name="Global"/>.</param>
    /// <param name="LeftOut">Accepted updates the strategy chose not to use (e.g. Krum), with the reason.</param>
    protected sealed record Combination(
        ModelWeights Global,
        ModelWeights? ServerState,
        IReadOnlyList<ClientUpdate> Used,
        IReadOnlyList<RejectedUpdate> LeftOut);
}
