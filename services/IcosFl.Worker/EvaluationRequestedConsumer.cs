using IcosFl.Contracts;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Infrastructure.Weights;
using IcosFl.Learning;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace IcosFl.Worker;

/// <summary>
/// Evaluates a global model on this node's held-out data (federated evaluation); declines clearly (an unavailable
/// metric, too little data, unreadable or unfitting weights, any other failure while scoring) instead of faulting.
/// </summary>
public sealed class EvaluationRequestedConsumer(WorkerNode node, WeightTransport transport, ILogger<EvaluationRequestedConsumer> logger) :
    AddressedConsumer<EvaluationRequested>(node, logger, m => (m.FederationId, m.RoundId, m.Round, m.WorkerId), work: "evaluate", failureNoun: "evaluation")
{
    protected override async Task ConsumeAddressed(ConsumeContext<EvaluationRequested> context)
    {
        if (await OrDecline(context, () => EvaluateAsync(context)) is not { } metrics)
            return;
        var m = context.Message;
        Logger.LogInformation("{WorkerId} evaluated round {Round}: RMSE {Rmse} (persistence {PersistenceRmse})",
            Node.WorkerId, m.Round, metrics.Rmse, metrics.PersistenceRmse);
        await Report(context, metrics, declined: null);
    }

    /// <summary>Scores the global model on this node's test split, or declines with the reason (and returns null).</summary>
    private async Task<EvaluationMetrics?> EvaluateAsync(ConsumeContext<EvaluationRequested> context)
    {
        var m = context.Message;
        if (await SeriesOrDecline(context, m.RunConfig) is not { } series)
            return null;
        try
        {
            var weights = await transport.UnpackAsync(m.GlobalWeights, context.CancellationToken);
            return await Task.Run(() => LocalTraining.Evaluate(weights, series, m.RunConfig), context.CancellationToken);
        }
        catch (Exception e) when (e is InsufficientDataException or IncompatibleWeightsException or WeightPayloadException)
        {
            await Decline(context, e.Message);
            return null;
        }
    }

    protected override async Task Decline(ConsumeContext<EvaluationRequested> context, string reason)
    {
        Logger.LogWarning("{WorkerId} declines to evaluate round {Round}: {Reason}", Node.WorkerId, context.Message.Round, reason);
        await Report(context, metrics: null, declined: reason);
    }

    private Task Report(ConsumeContext<EvaluationRequested> context, EvaluationMetrics? metrics, string? declined)
    {
        var m = context.Message;
        return context.PublishFromConsumer(new EvaluationReported
        {
            FederationId = m.FederationId,
            RoundId = m.RoundId,
            Round = m.Round,
            WorkerId = Node.WorkerId,
            Metrics = metrics,
            DeclinedReason = declined,
        });
    }
}
