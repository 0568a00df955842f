using System.Text.Json;
using MassTransit;
using MassTransit.Context;
using MassTransit.Scheduling;
using Microsoft.Extensions.Logging;

namespace IcosFl.Infrastructure.Scheduling;

/// <summary>
/// Receives the scheduling commands that <c>UseMessageScheduler</c> sends (a saga's Schedule /
/// Unschedule, <c>IMessageScheduler</c>) and keeps them in Redis until the dispatcher sends them.
/// </summary>
public sealed class ScheduleMessageConsumer :
    IConsumer<ScheduleMessage>,
    IConsumer<CancelScheduledMessage>
{
    readonly ScheduledMessageStore _store;
    readonly ILogger<ScheduleMessageConsumer> _logger;

    public ScheduleMessageConsumer(ScheduledMessageStore store, ILogger<ScheduleMessageConsumer> logger)
    {
        _store = store;
        _logger = logger;
    }

    public async Task Consume(ConsumeContext<ScheduleMessage> context)
    {
        var command = context.Message;
        if (command.Destination is null)
            throw new ArgumentException($"ScheduleMessage {command.CorrelationId:D} has no Destination: nothing to send the message to.");
        if (command.Payload is null || command.PayloadType is not { Length: > 0 })
            throw new ArgumentException($"ScheduleMessage {command.CorrelationId:D} to {command.Destination} has no Payload or PayloadType.");

        // The payload arrives as part of the command; serialize it as a message envelope of its own,
        // so it can be sent later exactly as if it had been sent now.
        var body = context.SerializerContext.GetMessageSerializer(command.Payload, command.PayloadType)
            .GetMessageBody(new MessageSendContext<ScheduleMessage>(command, context.CancellationToken));

        var headers = context.Headers.GetAll()
            .ToDictionary(h => h.Key, h => JsonSerializer.SerializeToElement(h.Value));

        var message = new ScheduledMessage
        {
            TokenId = command.CorrelationId,
            ScheduledTimeUtc = ScheduledMessageStore.AsUtc(command.ScheduledTime),
            Destination = command.Destination,
            ContentType = context.ReceiveContext.ContentType?.ToString() ?? "application/vnd.masstransit+json",
            Body = body.GetString(),
            MessageTypes = command.PayloadType,
            MessageId = context.MessageId,
            CorrelationId = context.CorrelationId,
            ConversationId = context.ConversationId,
            InitiatorId = context.InitiatorId,
            RequestId = context.RequestId,
            SourceAddress = context.SourceAddress,
            ResponseAddress = context.ResponseAddress,
            FaultAddress = context.FaultAddress,
            ExpirationTimeUtc = context.ExpirationTime is { } expiration ? ScheduledMessageStore.AsUtc(expiration) : null,
            Headers = headers,
        };

        await _store.ScheduleAsync(message).ConfigureAwait(false);
        _logger.LogDebug("Scheduled {TokenId} for {ScheduledTime:O} to {Destination} ({MessageTypes})",
            message.TokenId, message.ScheduledTimeUtc, message.Destination, message.MessageTypes);
    }

    public async Task Consume(ConsumeContext<CancelScheduledMessage> context)
    {
        var removed = await _store.CancelAsync(context.Message.TokenId).ConfigureAwait(false);
        if (removed)
            _logger.LogDebug("Cancelled scheduled message {TokenId}", context.Message.TokenId);
        else
            _logger.LogDebug("Cancel of scheduled message {TokenId}: none waiting (already sent or never scheduled)", context.Message.TokenId);
    }
}
