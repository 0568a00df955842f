using IcosFl.Contracts;
using IcosFl.Controller.Messages;
using IcosFl.Infrastructure.Weights;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace IcosFl.Controller.Sagas;

/// <summary>
/// Counts a weight update once: ignores duplicates and workers that were not selected, and puts inline
/// weights aside in the claim-check store so the round's state stays small however many workers answer.
/// The weights are decoded and validated once, by the aggregator.
/// </summary>
public sealed class RecordUpdateActivity(
    IClaimCheckStore store,
    WeightTransportOptions transportOptions,
    ILogger<RecordUpdateActivity> logger) : IStateMachineActivity<RoundState, WeightUpdateSubmitted>
{
    public async Task Execute(BehaviorContext<RoundState, WeightUpdateSubmitted> context, IBehavior<RoundState, WeightUpdateSubmitted> next)
    {
        var saga = context.Saga;
        var update = context.Message;
        if (!saga.Selected.Contains(update.WorkerId))
        {
            logger.LogWarning(
                "Federation {FederationId} round {Round} ({RoundId}): update from {WorkerId} rejected, the worker was not selected for this round",
                saga.FederationId, saga.Round, saga.CorrelationId, update.WorkerId);
            if (!saga.Rejected.Any(r => r.WorkerId == update.WorkerId))
                saga.Rejected.Add(new RejectedUpdate(update.WorkerId, "not selected for this round"));
        }
        else if (saga.Updates.Any(u => u.WorkerId == update.WorkerId))
        {
            logger.LogWarning(
                "Federation {FederationId} round {Round} ({RoundId}): duplicate update from {WorkerId} ignored",
                saga.FederationId, saga.Round, saga.CorrelationId, update.WorkerId);
        }
        else if (saga.Rejected.Any(r => r.WorkerId == update.WorkerId))
        {
            logger.LogWarning(
                "Federation {FederationId} round {Round} ({RoundId}): update from {WorkerId} ignored, the round already gave up on it ({Reason})",
                saga.FederationId, saga.Round, saga.CorrelationId, update.WorkerId,
                saga.Rejected.First(r => r.WorkerId == update.WorkerId).Reason);
        }
        else
        {
            var weights = update.Weights;
            if (weights.Inline is { } inline)
            {
                var key = $"icosfl:update:{saga.CorrelationId:N}:{update.WorkerId}";
                await store.PutAsync(key, inline, transportOptions.ClaimCheckTimeToLive, context.CancellationToken);
                weights = weights with { Inline = null, ClaimCheckKey = key };
            }
            saga.Updates.Add(new UpdateRecord(update.WorkerId, update.NumExamples, update.Metrics, weights));
            logger.LogInformation(
                "Federation {FederationId} round {Round} ({RoundId}): update from {WorkerId} counted ({Received}/{Selected}), {NumExamples} examples, train loss {TrainLoss}",
                saga.FederationId, saga.Round, saga.CorrelationId, update.WorkerId, saga.Updates.Count, saga.Selected.Count,
                update.NumExamples, update.Metrics.Loss);
        }
        await next.Execute(context);
    }

    public Task Faulted<TException>(BehaviorExceptionContext<RoundState, WeightUpdateSubmitted, TException> context,
        IBehavior<RoundState, WeightUpdateSubmitted> next) where TException : Exception => next.Faulted(context);

    public void Probe(ProbeContext context) => context.CreateScope("record-update");

    public void Accept(StateMachineVisitor visitor) => visitor.Visit(this);
}
