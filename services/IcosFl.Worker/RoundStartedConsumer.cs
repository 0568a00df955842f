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
    AddressedConsumer<RoundStarted>(node, logger, m => (m.FederationId, m.RoundId, m.Round, m.WorkerId), work: "train", failureNoun: "local training")
{
    protected override async Task ConsumeAddressed(ConsumeContext<RoundStarted> context)
    {
        var m = context.Message;
        if (DateTimeOffset.UtcNow > m.Deadline)
        {
            Logger.LogWarning("Round {Round} reached {WorkerId} after its deadline {Deadline}; not training", m.Round, Node.WorkerId, m.Deadline);
            await Decline(context, $"round start arrived after the deadline {m.Deadline:O}");
            return;
        }

        if (await OrDecline(context, () => TrainAsync(context)) is not { } trained)
            return;
        var (result, payload) = trained;
        Logger.LogInformation(
            "{WorkerId} trained round {Round}: {NumExamples} examples, {Epochs} epochs, loss {TrainLoss}, {DurationMs} ms",
            Node.WorkerId, m.Round, result.NumExamples, result.Epochs, result.Loss, result.DurationMs);
        await context.PublishFromConsumer(new WeightUpdateSubmitted
        {
            FederationId = m.FederationId,
            RoundId = m.RoundId,
            Round = m.Round,
            WorkerId = Node.WorkerId,
            Weights = payload,
            NumExamples = result.NumExamples,
            Metrics = new TrainMetrics(result.Loss, result.Epochs, result.DurationMs),
        });
    }

    private sealed record Trained(TrainResult Result, WeightsPayload Payload);

    /// <summary>Trains and packs this node's update, or declines with the reason (and returns null).</summary>
    private async Task<Trained?> TrainAsync(ConsumeContext<RoundStarted> context)
    {
        var m = context.Message;
        if (await SeriesOrDecline(context, m.RunConfig) is not { } series)
            return null;

        // Bad input (docs/node-data.md): gaps are repaired with a warning in the log, a constant series is declined.
        var warnings = new List<string>();
        series = SeriesChecks.Regularise(series, warnings);
        foreach (var warning in warnings)
            Logger.LogWarning("{WorkerId} round {Round}: {DataWarning}", Node.WorkerId, m.Round, warning);
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
            var seed = Node.TrainingSeed(m.RunConfig.Seed, m.Round);
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
            var key = $"{m.RoundId:N}:{Node.WorkerId}";
            // Only simulated adversaries rewrite the update (global, trained) -> sent, and they send it
            // unchecked so that NaN reaches the controller's validation; every real worker packs strictly.
            payload = Node.Adversary is { } adversary
                ? await transport.PackUncheckedAsync(adversary(global, result.Weights), key, context.CancellationToken)
                : await transport.PackAsync(result.Weights, key, context.CancellationToken);
        }
        catch (WeightPayloadException e)
        {
            // Training diverged (NaN or infinite weights): say so rather than send an update nobody can use.
            await Decline(context, $"local training produced unusable weights: {e.Message}");
            return null;
        }

        return new Trained(result, payload);
    }

    protected override async Task Decline(ConsumeContext<RoundStarted> context, string reason)
    {
        var m = context.Message;
        Logger.LogWarning("{WorkerId} declines round {Round}: {Reason}", Node.WorkerId, m.Round, reason);
        await context.PublishFromConsumer(new TrainingDeclined
        {
            FederationId = m.FederationId,
            RoundId = m.RoundId,
            Round = m.Round,
            WorkerId = Node.WorkerId,
            Reason = reason,
        });
    }
}
