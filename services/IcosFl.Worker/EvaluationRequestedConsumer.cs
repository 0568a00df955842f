using IcosFl.Contracts;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Infrastructure.Weights;
using IcosFl.Learning;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace IcosFl.Worker;

/// <summary>Evaluates a global model on this node's held-out data (federated evaluation).</summary>
public sealed class EvaluationRequestedConsumer(WorkerNode node, WeightTransport transport, ILogger<EvaluationRequestedConsumer> logger) :
    IConsumer<EvaluationRequested>
{
    public async Task Consume(ConsumeContext<EvaluationRequested> context)
    {
        var m = context.Message;
        if (m.WorkerId != node.WorkerId)
            return;

        using var scope = logger.BeginScope(new Dictionary<string, object>
        {
            ["FederationId"] = m.FederationId, ["RoundId"] = m.RoundId, ["WorkerId"] = node.WorkerId,
        });
        EvaluationMetrics? metrics = null;
        string? declined = null;
        if (!node.TryReadSeries(m.RunConfig, out var series, out var unavailable))
            declined = unavailable;
        else
        {
            try
            {
                var weights = await transport.UnpackAsync(m.GlobalWeights, context.CancellationToken);
                metrics = await Task.Run(() => LocalTraining.Evaluate(weights, series, m.RunConfig), context.CancellationToken);
                logger.LogInformation("{WorkerId} evaluated round {Round}: RMSE {Rmse} (persistence {PersistenceRmse})",
                    node.WorkerId, m.Round, metrics.Rmse, metrics.PersistenceRmse);
            }
            catch (Exception e) when (e is InsufficientDataException or IncompatibleWeightsException or WeightPayloadException)
            {
                declined = e.Message;
            }
        }
        if (declined is not null)
            logger.LogWarning("{WorkerId} declines to evaluate round {Round}: {Reason}", node.WorkerId, m.Round, declined);

        await context.PublishFromConsumer(new EvaluationReported
        {
            FederationId = m.FederationId,
            RoundId = m.RoundId,
            Round = m.Round,
            WorkerId = node.WorkerId,
            Metrics = metrics,
            DeclinedReason = declined,
        });
    }
}
