using System.Numerics.Tensors;
using IcosFl.Contracts;
using IcosFl.Learning;
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

    /// <summary>The LSTM of the config's architecture with weights drawn from its seed (<see cref="LocalTraining.InitialWeights"/>).</summary>
    public ModelWeights InitializeParameters(RunConfig config) => LocalTraining.InitialWeights(config);

    public IReadOnlyList<string> ConfigureTrain(RoundContext round, IReadOnlyList<string> availableWorkers) =>
        ClientSampling.Sample(availableWorkers, round.Config.FractionFit, round.Config.MinFitClients, round.SamplingSeed);

    /// <summary>
    /// No evaluation when fraction-evaluate is 0 (as Flower) or fewer than min-evaluate-clients workers are available
    /// (Flower waits for them; a round here does not); otherwise sampled like training.
    /// </summary>
    public IReadOnlyList<string> ConfigureEvaluate(RoundContext round, IReadOnlyList<string> availableWorkers) =>
        round.Config.FractionEvaluate == 0.0 || availableWorkers.Count < round.Config.MinEvaluateClients
            ? []
            : ClientSampling.Sample(availableWorkers, round.Config.FractionEvaluate, round.Config.MinEvaluateClients,
                round.SamplingSeed ^ EvaluateSeedSalt);

    /// <summary>
    /// The model's forecast on the controller's own series (<see cref="LocalTraining.Evaluate(ModelWeights, FeatureSeries, RunConfig)"/>,
    /// on its held-out split); skipped, with the reason, when the node lacks a metric or enough points.
    /// </summary>
    public CentralizedEvaluation Evaluate(RoundContext round, ModelWeights global, IControllerData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!data.TryRead(round.Config, out var series, out var missing))
            return new CentralizedEvaluation(null, missing);
        try
        {
            return new CentralizedEvaluation(LocalTraining.Evaluate(global, series, round.Config), null);
        }
        catch (InsufficientDataException e)
        {
            return new CentralizedEvaluation(null, e.Message);
        }
    }

    /// <summary>
    /// Validates every update (<see cref="UpdateValidator"/>), combines the valid ones and reports the
    /// example-weighted training loss of those used.
    /// </summary>
    /// <remarks>
    /// When <see cref="NonFiniteValuesReachTheResult"/>, the scan of every update for NaN/Inf is deferred:
    /// a non-finite value in any update makes such a result non-finite, so the scan runs only when the
    /// result shows one, and the combination is then redone without the updates it names. The outcome is
    /// the same as scanning first; on large models it saves a full read of every update.
    /// </remarks>
    /// <exception cref="AggregationException">No update is valid, or the server state does not fit the model.</exception>
    public AggregationResult AggregateTrain(RoundContext round, ModelWeights global, IReadOnlyList<ClientUpdate> updates, ModelWeights? serverState)
    {
        var deferValueScan = NonFiniteValuesReachTheResult;
        var (accepted, rejected) = Screen(round, global, updates, checkValues: !deferValueScan);
        var combination = Combine(round, global, accepted, serverState);
        var finiteResult = IsFinite(combination.Global);
        if (deferValueScan && !finiteResult)
        {
            // Rare path: screen everything again as if values had been scanned first, and recombine.
            (accepted, rejected) = Screen(round, global, updates, checkValues: true);
            combination = Combine(round, global, accepted, serverState);
            finiteResult = IsFinite(combination.Global);
        }

        if (!finiteResult)
        {
            // Every update is finite, so the overflow or NaN comes from the arithmetic or the server state.
            throw new AggregationException(
                $"Round {round.Round} (attempt {round.Attempt}): {Name} produced a model with NaN or infinite values from finite updates " +
                "(values too large for float32, or a server state holding NaN/Inf).",
                rejected);
        }

        return new AggregationResult(
            combination.Global,
            combination.ServerState,
            combination.Used.Select(u => u.WorkerId).ToArray(),
            [.. rejected, .. combination.LeftOut],
            TrainLoss(combination.Used),
            accepted.Count);
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

    /// <summary>
    /// True when a NaN or infinity in any accepted update always makes <see cref="Combine"/>'s model
    /// non-finite (true for averages: a positive weight keeps NaN and infinities). Lets
    /// <see cref="AggregateTrain"/> defer the value scan; strategies that sort or select (median, Krum)
    /// must return false.
    /// </summary>
    protected virtual bool NonFiniteValuesReachTheResult => true;

    /// <summary>Splits updates into valid ones and rejections; throws when none is valid.</summary>
    internal static (IReadOnlyList<ClientUpdate> Accepted, IReadOnlyList<RejectedUpdate> Rejected) Screen(
        RoundContext round, ModelWeights global, IReadOnlyList<ClientUpdate> updates, bool checkValues = true)
    {
        var accepted = new List<ClientUpdate>(updates.Count);
        var rejected = new List<RejectedUpdate>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var update in updates)
        {
            var problem = seen.Add(update.WorkerId)
                ? UpdateValidator.FindProblem(global, update, round.Config, checkValues)
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
            throw NothingToAggregate(round, updates.Count, rejected);
        }

        return (accepted, rejected);
    }

    private static AggregationException NothingToAggregate(RoundContext round, int updateCount, IReadOnlyList<RejectedUpdate> rejected)
    {
        var reasons = rejected.Count == 0
            ? "no updates arrived"
            : string.Join("; ", rejected.Select(r => $"{r.WorkerId} {r.Reason}"));
        return new AggregationException(
            $"Round {round.Round} (attempt {round.Attempt}): none of the {updateCount} updates can be aggregated: {reasons}.",
            rejected);
    }

    private static bool IsFinite(ModelWeights model) =>
        model.Tensors.All(t => TensorPrimitives.IsFiniteAll<float>(t.Data));

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
