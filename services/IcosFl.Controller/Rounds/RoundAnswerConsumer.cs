using IcosFl.Contracts;
using IcosFl.Controller.Messages;
using IcosFl.Controller.Payloads;
using IcosFl.Controller.Workers;
using IcosFl.Controller.Sagas;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Infrastructure.Weights;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace IcosFl.Controller.Rounds;

/// <summary>
/// Workers' answers to a round (updates, declines, evaluation reports), recorded in the round's ledger
/// with one atomic write each and in parallel, without loading the round saga. Duplicates, late
/// answers and answers from workers that were not asked are logged and ignored; only the answer that
/// completes a phase tells the round saga, with <see cref="RoundCollected"/> or <see cref="RoundEvaluated"/>.
/// </summary>
public sealed class RoundAnswerConsumer(
    IRoundLedger ledger,
    IClaimCheckStore store,
    WeightTransportOptions transportOptions,
    ChunkedUploads uploads,
    ControllerOptions options,
    TimeProvider clock,
    ILogger<RoundAnswerConsumer> logger)
    : IConsumer<WeightUpdateSubmitted>, IConsumer<TrainingDeclined>, IConsumer<EvaluationReported>
{
    public async Task Consume(ConsumeContext<WeightUpdateSubmitted> context)
    {
        var update = context.Message;
        var weights = update.Weights;
        if (weights.Inline is { } inline)
        {
            // Inline weights are put aside so the ledger, the saga and the aggregation request stay small. The key
            // names the content: a redelivery writes the same bytes again, a different duplicate cannot overwrite
            // the counted one (payloads of ignored answers expire with the claim check's time to live).
            var key = $"icosfl:update:{update.RoundId:N}:{update.WorkerId}:{weights.Checksum}";
            await store.PutAsync(key, inline, transportOptions.ClaimCheckTimeToLive, context.CancellationToken);
            weights = weights with { Inline = null, ClaimCheckKey = key };
        }
        else if (weights.ClaimCheckKey is { } reference)
        {
            // Sent as chunks (issue 16): stored under a key the controller made from the authenticated worker and the
            // transfer; a worker cannot name a key of the controller's store (it could name another worker's update).
            string? refusal;
            if (BrokerClaimCheckStore.TransferOf(reference) is { } transfer)
            {
                var outcome = await uploads.WaitAsync(update.WorkerId, transfer, options.UploadPatience, context.CancellationToken);
                refusal = outcome.Problem
                    ?? (outcome.Length >= 0 && (outcome.Length != weights.Length || !string.Equals(outcome.Digest, weights.Checksum, StringComparison.Ordinal))
                        ? $"the update declares {weights.Length} bytes with SHA-256 {weights.Checksum}, its transfer {transfer:N} delivered {outcome.Length} bytes with SHA-256 {outcome.Digest}"
                        : null);
                weights = weights with { ClaimCheckKey = ChunkedUploads.KeyOf(update.WorkerId, transfer) };
            }
            else
            {
                refusal = options.WorkerAuthentication == WorkerAuthentication.InProcessTrusted
                    ? null
                    : $"its weights name claim-check key '{reference}', not a transfer of its own chunks ('{BrokerClaimCheckStore.TransferPrefix}{{id}}')";
            }

            if (refusal is not null)
            {
                await RejectUpdateAsync(context, refusal);
                return;
            }
        }
        var receipt = await ledger.RecordUpdateAsync(update.RoundId,
            new UpdateRecord(update.WorkerId, update.NumExamples, update.Metrics, weights, clock.GetUtcNow()), context.CancellationToken);
        switch (receipt.Outcome)
        {
            case AnswerOutcome.Recorded:
                logger.LogInformation(
                    "Federation {FederationId} round {Round} ({RoundId}): update from {WorkerId} counted ({Received}/{Selected}), {NumExamples} examples, train loss {TrainLoss}",
                    update.FederationId, update.Round, update.RoundId, update.WorkerId, receipt.Answered, receipt.Expected,
                    update.NumExamples, update.Metrics.Loss);
                break;
            case AnswerOutcome.Duplicate:
                logger.LogWarning("Federation {FederationId} round {Round} ({RoundId}): duplicate update from {WorkerId} ignored",
                    update.FederationId, update.Round, update.RoundId, update.WorkerId);
                break;
            case AnswerOutcome.NotSelected:
                logger.LogWarning(
                    "Federation {FederationId} round {Round} ({RoundId}): update from {WorkerId} rejected, the worker was not selected for this round",
                    update.FederationId, update.Round, update.RoundId, update.WorkerId);
                break;
            case AnswerOutcome.GivenUp:
                logger.LogWarning(
                    "Federation {FederationId} round {Round} ({RoundId}): update from {WorkerId} ignored, the round already gave up on it ({Reason})",
                    update.FederationId, update.Round, update.RoundId, update.WorkerId, receipt.EarlierReason);
                break;
            case AnswerOutcome.Late:
                logger.LogWarning(
                    "Federation {FederationId} round {Round} ({RoundId}): late update from {WorkerId} ignored, the round no longer collects",
                    update.FederationId, update.Round, update.RoundId, update.WorkerId);
                break;
            case AnswerOutcome.UnknownRound:
                logger.LogWarning("Update from {WorkerId} for unknown round {RoundId} of federation {FederationId} ignored",
                    update.WorkerId, update.RoundId, update.FederationId);
                break;
        }
        if (receipt.CompletesTheSet)
            await context.PublishFromConsumer(new RoundCollected(update.RoundId));
    }

    /// <summary>An update whose weights did not arrive intact counts as the worker's decline, with the reason.</summary>
    private async Task RejectUpdateAsync(ConsumeContext<WeightUpdateSubmitted> context, string reason)
    {
        var update = context.Message;
        logger.LogWarning("Federation {FederationId} round {Round} ({RoundId}): update from {WorkerId} rejected: {Reason}",
            update.FederationId, update.Round, update.RoundId, update.WorkerId, reason);
        var receipt = await ledger.RecordDeclineAsync(update.RoundId, update.WorkerId, $"update rejected: {reason}", context.CancellationToken);
        if (receipt.CompletesTheSet)
            await context.PublishFromConsumer(new RoundCollected(update.RoundId));
    }

    public async Task Consume(ConsumeContext<TrainingDeclined> context)
    {
        var declined = context.Message;
        var receipt = await ledger.RecordDeclineAsync(declined.RoundId, declined.WorkerId, $"declined: {declined.Reason}", context.CancellationToken);
        if (receipt.Outcome == AnswerOutcome.Recorded)
            logger.LogWarning("Federation {FederationId} round {Round} ({RoundId}): {WorkerId} declined to train: {Reason}",
                declined.FederationId, declined.Round, declined.RoundId, declined.WorkerId, declined.Reason);
        else
            logger.LogDebug("Federation {FederationId} round {Round} ({RoundId}): decline from {WorkerId} ignored ({Outcome})",
                declined.FederationId, declined.Round, declined.RoundId, declined.WorkerId, receipt.Outcome);
        if (receipt.CompletesTheSet)
            await context.PublishFromConsumer(new RoundCollected(declined.RoundId));
    }

    public async Task Consume(ConsumeContext<EvaluationReported> context)
    {
        var report = context.Message;
        var receipt = await ledger.RecordEvaluationAsync(report.RoundId, new EvaluationReport(report.WorkerId, report.Metrics, report.DeclinedReason),
            context.CancellationToken);
        if (receipt.Outcome is AnswerOutcome.Duplicate or AnswerOutcome.NotSelected)
            logger.LogWarning("Federation {FederationId} round {Round} ({RoundId}): evaluation from {WorkerId} ignored (not asked, or a duplicate)",
                report.FederationId, report.Round, report.RoundId, report.WorkerId);
        else if (receipt.Outcome != AnswerOutcome.Recorded)
            logger.LogDebug("Federation {FederationId} round {Round} ({RoundId}): evaluation from {WorkerId} ignored ({Outcome})",
                report.FederationId, report.Round, report.RoundId, report.WorkerId, receipt.Outcome);
        if (receipt.CompletesTheSet)
            await context.PublishFromConsumer(new RoundEvaluated(report.RoundId));
    }
}

public sealed class RoundAnswerConsumerDefinition : ConsumerDefinition<RoundAnswerConsumer>
{
    public RoundAnswerConsumerDefinition()
    {
        // Answers of a round arrive together: take many at once (each is one small Redis script).
        Endpoint(e =>
        {
            e.PrefetchCount = 128;
            e.ConcurrentMessageLimit = 64;
        });
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<RoundAnswerConsumer> consumerConfigurator, IRegistrationContext context)
    {
        // A Redis that is restarting fails the script: try again for a while rather than lose an answer.
        endpointConfigurator.UseMessageRetry(r => r.Exponential(20, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(5),
            TimeSpan.FromMilliseconds(100)));
        endpointConfigurator.UseInMemoryOutbox(context);
        // Answers of one worker to one round take turns, in arrival order: of two different updates it sends, the first counts.
        var partition = endpointConfigurator.CreatePartitioner(64);
        consumerConfigurator.Message<WeightUpdateSubmitted>(m => m.UsePartitioner(partition, c => PartitionKey(c.Message.RoundId, c.Message.WorkerId)));
        consumerConfigurator.Message<TrainingDeclined>(m => m.UsePartitioner(partition, c => PartitionKey(c.Message.RoundId, c.Message.WorkerId)));
        consumerConfigurator.Message<EvaluationReported>(m => m.UsePartitioner(partition, c => PartitionKey(c.Message.RoundId, c.Message.WorkerId)));
    }

    /// <summary>The round id with the worker id's hash mixed in (the process's own string hash: partitions are per process).</summary>
    private static Guid PartitionKey(Guid roundId, string workerId)
    {
        Span<byte> bytes = stackalloc byte[16];
        roundId.TryWriteBytes(bytes);
        var hash = workerId.GetHashCode();
        for (var i = 0; i < 4; i++)
            bytes[i] ^= (byte)(hash >> (8 * i));
        return new Guid(bytes);
    }
}
