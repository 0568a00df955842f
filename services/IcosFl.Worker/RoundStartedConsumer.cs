using IcosFl.Contracts;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Infrastructure.Weights;
using IcosFl.Learning;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace IcosFl.Worker;

/// <summary>
/// Trains the global model on this node's own data when the worker is selected for a round, and
/// submits the updated weights; declines clearly (too little data, an unavailable forecast or input metric, unreadable
/// weights) instead of failing the round.
/// </summary>
public sealed class RoundStartedConsumer(WorkerNode node, WeightTransport transport, ILogger<RoundStartedConsumer> logger) :
    IConsumer<RoundStarted>
{
    public async Task Consume(ConsumeContext<RoundStarted> context)
    {
        var m = context.Message;
        // On RabbitMQ the routing key already limits delivery to the addressee; in memory every worker sees it.
        if (m.WorkerId != node.WorkerId)
        {
            logger.LogDebug("{WorkerId} ignored a round start addressed to {Addressee}", node.WorkerId, m.WorkerId);
            return;
        }

        using var scope = logger.BeginScope(new Dictionary<string, object>
        {
            ["FederationId"] = m.FederationId, ["RoundId"] = m.RoundId, ["WorkerId"] = node.WorkerId,
        });
        if (DateTimeOffset.UtcNow > m.Deadline)
        {
            logger.LogWarning("Round {Round} reached {WorkerId} after its deadline {Deadline}; not training", m.Round, node.WorkerId, m.Deadline);
            await Decline(context, $"round start arrived after the deadline {m.Deadline:O}");
            return;
        }

        (TrainResult Result, WeightsPayload Payload)? trained;
        try
        {
            trained = await TrainAsync(context);
        }
        catch (Exception e) when (!context.CancellationToken.IsCancellationRequested)
        {
            // Anything else (the node store failing, an error inside libtorch) is this node's failure, not the round's:
            // decline with it, so the controller counts the node out now instead of waiting for the round's deadline.
            logger.LogError(e, "{WorkerId} could not train round {Round}", node.WorkerId, m.Round);
            await Decline(context, $"local training failed: {e.GetType().Name}: {FirstLine(e.Message)}");
            return;
        }

        if (trained is not { } done)
            return;
        var (result, payload) = done;
        logger.LogInformation(
            "{WorkerId} trained round {Round}: {NumExamples} examples, {Epochs} epochs, loss {TrainLoss}, {DurationMs} ms",
            node.WorkerId, m.Round, result.NumExamples, result.Epochs, result.Loss, result.DurationMs);
        await context.PublishFromConsumer(new WeightUpdateSubmitted
        {
            FederationId = m.FederationId,
            RoundId = m.RoundId,
            Round = m.Round,
            WorkerId = node.WorkerId,
            Weights = payload,
            NumExamples = result.NumExamples,
            Metrics = new TrainMetrics(result.Loss, result.Epochs, result.DurationMs),
        });
    }

    /// <summary>Trains and packs this node's update, or declines with the reason (and returns null).</summary>
    private async Task<(TrainResult Result, WeightsPayload Payload)?> TrainAsync(ConsumeContext<RoundStarted> context)
    {
        var m = context.Message;
        // The forecast metric and every input metric: a node lacking one cannot train this model.
        if (!node.TryReadSeries(m.RunConfig, out var series, out var unavailable))
        {
            await Decline(context, unavailable);
            return null;
        }

        // Bad input (docs/node-data.md): gaps are repaired with a warning in the log, a constant series is declined.
        var warnings = new List<string>();
        series = SeriesChecks.Regularise(series, warnings);
        foreach (var warning in warnings)
            logger.LogWarning("{WorkerId} round {Round}: {DataWarning}", node.WorkerId, m.Round, warning);
        if ((SeriesChecks.TooShort(series, m.RunConfig, repaired: warnings.Count > 0) ?? SeriesChecks.Constant(series)) is { } bad)
        {
            await Decline(context, bad);
            return null;
        }

        ModelWeights global;
        try
        {
            global = await transport.UnpackAsync(m.GlobalWeights, context.CancellationToken);
        }
        catch (WeightPayloadException e)
        {
            await Decline(context, $"cannot read the global weights: {e.Message}");
            return null;
        }

        TrainResult result;
        try
        {
            var seed = node.TrainingSeed(m.RunConfig.Seed, m.Round);
            result = await Task.Run(() => LocalTraining.Train(global, series, m.RunConfig, seed, context.CancellationToken),
                context.CancellationToken);
        }
        catch (InsufficientDataException e)
        {
            await Decline(context, e.Message);
            return null;
        }
        catch (IncompatibleWeightsException e)
        {
            await Decline(context, $"global weights do not fit the configured model: {e.Message}");
            return null;
        }

        WeightsPayload payload;
        try
        {
            var key = $"{m.RoundId:N}:{node.WorkerId}";
            // Only simulated adversaries rewrite the update (global, trained) -> sent, and they send it
            // unchecked so that NaN reaches the controller's validation; every real worker packs strictly.
            payload = node.Adversary is { } adversary
                ? await transport.PackUncheckedAsync(adversary(global, result.Weights), key, context.CancellationToken)
                : await transport.PackAsync(result.Weights, key, context.CancellationToken);
        }
        catch (WeightPayloadException e)
        {
            // Training diverged (NaN or infinite weights): say so rather than send an update nobody can use.
            await Decline(context, $"local training produced unusable weights: {e.Message}");
            return null;
        }

        return (result, payload);
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();

    private async Task Decline(ConsumeContext<RoundStarted> context, string reason)
    {
        var m = context.Message;
        logger.LogWarning("{WorkerId} declines round {Round}: {Reason}", node.WorkerId, m.Round, reason);
        await context.PublishFromConsumer(new TrainingDeclined
        {
            FederationId = m.FederationId,
            RoundId = m.RoundId,
            Round = m.Round,
            WorkerId = node.WorkerId,
            Reason = reason,
        });
    }
}
