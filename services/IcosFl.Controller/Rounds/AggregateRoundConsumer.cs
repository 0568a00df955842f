using IcosFl.Contracts;
using IcosFl.Controller.Checkpoints;
using IcosFl.Controller.Messages;
using IcosFl.Controller.Strategies;
using IcosFl.Controller.Workers;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Infrastructure.Weights;
using IcosFl.Learning;
using IcosFl.Learning.NodeData;
using IcosFl.Learning.Prediction;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace IcosFl.Controller.Rounds;

/// <summary>
/// The controller's heavy step of a round: decode the updates, let the strategy validate and combine
/// them (aggregate-train), store the new global model, let the strategy evaluate it on the controller's own
/// node data (evaluate), and choose the workers that evaluate it (configure-evaluate). Each new model is checkpointed (latest, and best by
/// the centralized MSE) before the round moves on; a redelivered round overwrites its checkpoint with the same content.
/// </summary>
public sealed class AggregateRoundConsumer(
    WeightTransport transport,
    IClaimCheckStore store,
    IWorkerRegistry registry,
    INodeDataSource controllerData,
    ICheckpointStore checkpoints,
    IStrategyProvider strategies,
    ControllerOptions options,
    TimeProvider clock,
    ILogger<AggregateRoundConsumer> logger) : IConsumer<AggregateRound>
{
    private readonly ControllerNodeData _ownData = new(controllerData);

    public async Task Consume(ConsumeContext<AggregateRound> context)
    {
        var m = context.Message;
        var ct = context.CancellationToken;
        var round = new RoundContext(m.Round, m.Attempt, m.RunConfig);
        var strategy = strategies.For(m.RunConfig);

        ModelWeights global;
        ModelWeights? serverState;
        try
        {
            global = await transport.UnpackAsync(m.GlobalWeights, ct);
            serverState = m.ServerState is null ? null : await transport.UnpackAsync(m.ServerState, ct);
        }
        catch (WeightPayloadException e)
        {
            // Lost mid-round (payload Redis restarted): the round fails at once rather than at the federation's watchdog,
            // and the federation's retry regains the model before it opens (GlobalModelRecovery).
            await FailRoundAsync(context, $"the round's global model or server state is unreadable: {e.Message}", []);
            return;
        }

        // The claim-check reads are independent: several in flight at once, results kept in the updates' order. A read
        // decodes its chunks as they land, so beyond the model it decodes it holds only its chunk window (16 MiB).
        var unpacked = new (ModelWeights? Weights, string? Error)[m.Updates.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, m.Updates.Count), new ParallelOptions { MaxDegreeOfParallelism = ReadsInFlight, CancellationToken = ct },
            async (i, token) =>
            {
                try
                {
                    unpacked[i] = (await transport.UnpackAsync(m.Updates[i].Weights, token), null);
                }
                catch (WeightPayloadException e)
                {
                    unpacked[i] = (null, e.Message);
                }
            });
        var updates = new List<ClientUpdate>();
        var unreadable = new List<RejectedUpdate>();
        foreach (var (record, (weights, error)) in m.Updates.Zip(unpacked))
        {
            if (weights is not null)
            {
                updates.Add(new ClientUpdate(record.WorkerId, weights, record.NumExamples, record.Metrics));
                continue;
            }
            unreadable.Add(new RejectedUpdate(record.WorkerId, $"unreadable weights: {error}"));
            logger.LogWarning(
                "Federation {FederationId} round {Round} ({RoundId}): update from {WorkerId} rejected, unreadable weights: {Reason}",
                m.FederationId, m.Round, m.RoundId, record.WorkerId, error);
        }

        AggregationResult result;
        try
        {
            if (updates.Count < m.RunConfig.MinFitClients)
                throw new AggregationException(
                    $"only {updates.Count} readable updates, min-fit-clients is {m.RunConfig.MinFitClients}");
            result = strategy.AggregateTrain(round, global, updates, serverState);
            // Valid, not used: Krum uses one update by design, and min-fit-clients is about how many took part.
            if (result.ValidCount < m.RunConfig.MinFitClients)
                throw new AggregationException(
                    $"only {result.ValidCount} valid updates after validation, min-fit-clients is {m.RunConfig.MinFitClients}; " +
                    string.Join("; ", result.Rejected.Select(r => $"{r.WorkerId}: {r.Reason}")));
        }
        catch (AggregationException e)
        {
            await FailRoundAsync(context, $"aggregation failed: {e.Message}", unreadable);
            return;
        }

        foreach (var rejected in result.Rejected)
            logger.LogWarning("Federation {FederationId} round {Round} ({RoundId}): update from {WorkerId} rejected: {Reason}",
                m.FederationId, m.Round, m.RoundId, rejected.WorkerId, rejected.Reason);

        var newGlobal = await transport.PackAsync(result.Global, $"{m.FederationId:N}:global:{m.Round}", ct);
        var newState = result.ServerState is null
            ? null
            : await transport.PackAsync(result.ServerState, $"{m.FederationId:N}:server-state:{m.Round}", ct);

        var (centralized, skipped) = strategy.Evaluate(round, result.Global, _ownData);
        if (centralized is not null)
            logger.LogInformation(
                "Federation {FederationId} round {Round} ({RoundId}): centralized evaluation on {Node}: RMSE {Rmse} (persistence {PersistenceRmse}), MAE {Mae}",
                m.FederationId, m.Round, m.RoundId, options.NodeName, centralized.Rmse, centralized.PersistenceRmse, centralized.Mae);
        else
            logger.LogInformation("Federation {FederationId} round {Round} ({RoundId}): no centralized evaluation: {Reason}",
                m.FederationId, m.Round, m.RoundId, skipped);

        await SaveCheckpointAsync(m, result, centralized, skipped, ct);

        // Only workers holding enough data for the config can evaluate it; the others would decline.
        var ready = await registry.ReadyAsync(clock.GetUtcNow(), options.HeartbeatPatience, m.RunConfig, ct);
        var evaluators = strategy.ConfigureEvaluate(round, ready);

        await context.PublishFromConsumer(new RoundAggregated
        {
            FederationId = m.FederationId,
            RoundId = m.RoundId,
            NewGlobalWeights = newGlobal,
            ServerState = newState,
            Used = result.Used,
            Rejected = [.. unreadable, .. result.Rejected],
            TrainLoss = result.TrainLoss,
            CentralizedEval = centralized,
            CentralizedEvalSkipped = skipped,
            Evaluators = evaluators,
        });

        await ForgetUpdatesAsync(m);
    }

    /// <summary>Claim-checked updates read at once.</summary>
    internal const int ReadsInFlight = 8;

    /// <summary>
    /// The updates have served once the new model is out: their payloads (each up to the model's size) would
    /// otherwise wait out the claim check's time to live in the payload Redis (a 200 MB model with 10 workers
    /// leaves 2 GB a round). A redelivery of this request after this point finds them gone and reports the round
    /// unaggregatable, which the round saga, already past aggregating, ignores.
    /// </summary>
    private async Task ForgetUpdatesAsync(AggregateRound m)
    {
        // All at once: the store pipelines them, and the evaluation phase is already under way.
        await Task.WhenAll(m.Updates.Select(u => u.Weights.ClaimCheckKey).OfType<string>().Distinct().Select(ForgetAsync));

        async Task ForgetAsync(string key)
        {
            try
            {
                await store.DeleteAsync(key);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning("Federation {FederationId} round {Round} ({RoundId}): could not remove the aggregated update at claim-check key {Key} ({Reason}); it expires with its time to live",
                    m.FederationId, m.Round, m.RoundId, key, e.Message);
            }
        }
    }

    /// <summary>Tells the round saga this round cannot be aggregated, and why (a warning in the log too).</summary>
    private async Task FailRoundAsync(ConsumeContext<AggregateRound> context, string reason, IReadOnlyList<RejectedUpdate> rejected)
    {
        var m = context.Message;
        logger.LogWarning("Federation {FederationId} round {Round} ({RoundId}): {Reason}", m.FederationId, m.Round, m.RoundId, reason);
        await context.PublishFromConsumer(new RoundAggregationFailed
        {
            FederationId = m.FederationId,
            RoundId = m.RoundId,
            Reason = reason,
            Rejected = rejected,
        });
    }

    private async Task SaveCheckpointAsync(AggregateRound m, AggregationResult result, EvaluationMetrics? centralized, string? skipped,
        CancellationToken ct)
    {
        var scalers = OwnScalers(m.RunConfig);
        var checkpoint = new Checkpoint
        {
            FederationId = m.FederationId,
            Round = m.Round,
            Attempt = m.Attempt,
            RunConfig = m.RunConfig,
            Weights = result.Global,
            ServerState = result.ServerState,
            Scaler = scalers.Target,
            InputScalers = scalers.Inputs,
            Metrics = new CheckpointMetrics(result.TrainLoss, centralized, skipped, result.Used),
        };
        try
        {
            var saved = await checkpoints.SaveRoundAsync(checkpoint, ct);
            logger.LogInformation("Federation {FederationId} round {Round} ({RoundId}): checkpoint saved to {CheckpointLocation} (best: {IsBest})",
                m.FederationId, m.Round, m.RoundId, checkpoints.Describe(m.FederationId), saved.Best);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A full or read-only disk (or any other failure to write it) costs the checkpoint, not the federation:
            // training goes on and the next round tries again.
            logger.LogError(e, "Federation {FederationId} round {Round} ({RoundId}): checkpoint not saved to {CheckpointLocation}: {Reason}",
                m.FederationId, m.Round, m.RoundId, checkpoints.Describe(m.FederationId), e.Message);
        }
    }

    /// <summary>
    /// The controller's scalers for its own series (the forecast metric's, then each input metric's), fitted on the training
    /// split as its evaluation fits them; none when it lacks a metric or enough points.
    /// </summary>
    private (ScalerParameters? Target, IReadOnlyList<ScalerParameters>? Inputs) OwnScalers(RunConfig config)
    {
        if (!_ownData.TryRead(config, out var series, out _) || series.Count < LocalTraining.MinimumPoints(config))
            return (null, null);
        var train = ChronologicalSplit.TrainCount(series.Count, config.TrainTestSplit);
        var fitted = Forecaster.NodeScalers(series, config.TrainTestSplit)
            .Select((scaler, f) => ScalerParameters.From(scaler, $"node {options.NodeName}, training split", train) with { Metric = series.Metrics[f] })
            .ToList();
        return (fitted[0], fitted.Count > 1 ? fitted.Skip(1).ToList() : null);
    }
}
