using System.Net.Mime;
using System.Text.Json;
using MassTransit;
using MassTransit.Serialization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IcosFl.Infrastructure.Scheduling;

/// <summary>
/// Polls Redis for due messages and sends them to their destinations through the bus. Runs in every
/// process that hosts the scheduler; the store's claim keeps two of them from sending one message twice.
/// </summary>
public sealed class ScheduledMessageDispatcher : BackgroundService
{
    readonly ScheduledMessageStore _store;
    readonly IBus _bus;
    readonly RedisMessageSchedulerOptions _options;
    readonly TimeProvider _time;
    readonly ILogger<ScheduledMessageDispatcher> _logger;

    public ScheduledMessageDispatcher(ScheduledMessageStore store, IBus bus, RedisMessageSchedulerOptions options,
        ILogger<ScheduledMessageDispatcher> logger, TimeProvider? time = null)
    {
        _store = store;
        _bus = bus;
        _options = options;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            // Taken before the poll: a message stored while it runs still wakes the wait below.
            var scheduledHere = _store.ScheduledHere;
            var claimedFullBatch = false;
            var wait = _options.PollInterval;
            try
            {
                claimedFullBatch = await DispatchDueAsync(stoppingToken).ConfigureAwait(false) == _options.BatchSize;
                if (!claimedFullBatch)
                    wait = await IdleWaitAsync().ConfigureAwait(false);
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                _logger.LogWarning(exception, "Polling scheduled messages failed; next try in {PollInterval}", _options.PollInterval);
            }

            if (claimedFullBatch)
                continue; // more may be due already

            try
            {
                using var woken = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                var delay = Task.Delay(wait, _time, woken.Token);
                await Task.WhenAny(delay, scheduledHere).ConfigureAwait(false);
                await woken.CancelAsync().ConfigureAwait(false);
                stoppingToken.ThrowIfCancellationRequested();
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>Until the earliest waiting message is due: at least the poll interval, at most the idle one.</summary>
    async Task<TimeSpan> IdleWaitAsync()
    {
        var next = await _store.NextDueAsync().ConfigureAwait(false);
        var until = next is { } due ? due - _time.GetUtcNow().UtcDateTime : _options.IdlePollInterval;
        return until < _options.PollInterval ? _options.PollInterval
            : until > _options.IdlePollInterval ? _options.IdlePollInterval
            : until;
    }

    /// <summary>Claims the messages due now and sends them; returns how many were claimed.</summary>
    public async Task<int> DispatchDueAsync(CancellationToken cancellationToken)
    {
        var claimed = await _store.ClaimDueAsync(_time.GetUtcNow().UtcDateTime, _options.ClaimTimeout, _options.BatchSize)
            .ConfigureAwait(false);
        foreach (var message in claimed)
            await SendAsync(message, cancellationToken).ConfigureAwait(false);
        return claimed.Count;
    }

    async Task SendAsync(ClaimedMessage claimed, CancellationToken cancellationToken)
    {
        var message = claimed.Message;
        var failure = await TrySendAsync(message, cancellationToken).ConfigureAwait(false);
        if (failure is not null)
        {
            var attempts = message.Attempts + 1;
            if (attempts >= _options.MaxSendAttempts)
            {
                _logger.LogError(failure, "Dropping scheduled message {TokenId} to {Destination} after {Attempts} failed sends",
                    message.TokenId, message.Destination, attempts);
                await _store.CompleteAsync(claimed).ConfigureAwait(false);
                return;
            }

            // Back off exponentially from the poll interval, capped at the claim timeout.
            var backoff = TimeSpan.FromTicks(Math.Min(_options.PollInterval.Ticks << Math.Min(attempts, 16), _options.ClaimTimeout.Ticks));
            _logger.LogWarning(failure, "Sending scheduled message {TokenId} to {Destination} failed (attempt {Attempts}); retry in {Backoff}",
                message.TokenId, message.Destination, attempts, backoff);
            await _store.ReleaseAsync(claimed, _time.GetUtcNow().UtcDateTime + backoff).ConfigureAwait(false);
            return;
        }

        await _store.CompleteAsync(claimed).ConfigureAwait(false);
        _logger.LogDebug("Sent scheduled message {TokenId} to {Destination}, due {ScheduledTime:O}",
            message.TokenId, message.Destination, message.ScheduledTimeUtc);
    }

    /// <summary>
    /// Null once the broker has the message; else why not. A send waits for the broker's confirm, which may never
    /// come when the broker goes away under it (RabbitMQ.Client 7.2, rabbitmq-dotnet-client#1930): waiting on the
    /// host's stopping token alone, one such send stopped every deadline, quorum check and watchdog of the controller
    /// for good. Each send is bounded to half the claim timeout, so the message is released for a retry while the
    /// claim still holds (no other controller sends it meanwhile).
    /// </summary>
    async Task<Exception?> TrySendAsync(ScheduledMessage message, CancellationToken cancellationToken)
    {
        var bound = _options.ClaimTimeout / 2;
        using var overdue = new CancellationTokenSource(bound, _time);
        using var send = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, overdue.Token);
        try
        {
            var endpoint = await _bus.GetSendEndpoint(message.Destination).ConfigureAwait(false);
            await endpoint.Send(new SerializedMessageBody(), new ForwardScheduledMessagePipe(message), send.Token).ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException e) when (overdue.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new TimeoutException($"the broker did not take the message within {bound.TotalSeconds:0.###} s (half the claim timeout)", e);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            return e;
        }
    }

    /// <summary>Sends the stored envelope as it is, with the scheduling command's headers and ids.</summary>
    sealed class ForwardScheduledMessagePipe : IPipe<SendContext>
    {
        readonly ScheduledMessage _message;

        public ForwardScheduledMessagePipe(ScheduledMessage message)
        {
            _message = message;
        }

        public Task Send(SendContext context)
        {
            var headers = new DictionarySendHeaders();
            foreach (var (key, value) in _message.Headers)
                headers.Set(key, ToHeaderValue(value));
            // The state machine drops a scheduled event whose token is no longer the saga's current one.
            headers.Set(MessageHeaders.SchedulingTokenId, _message.TokenId.ToString("N"));

            var deserializer = context.Serialization.GetMessageDeserializer(new ContentType(_message.ContentType));
            var serializerContext = deserializer.Deserialize(deserializer.GetMessageBody(_message.Body), headers, _message.Destination);

            context.MessageId = _message.MessageId ?? context.MessageId;
            context.CorrelationId = _message.CorrelationId;
            context.ConversationId = _message.ConversationId;
            context.InitiatorId = _message.InitiatorId;
            context.RequestId = _message.RequestId;
            context.SourceAddress = _message.SourceAddress;
            context.ResponseAddress = _message.ResponseAddress;
            context.FaultAddress = _message.FaultAddress;
            if (_message.ExpirationTimeUtc is { } expiration)
                context.TimeToLive = expiration - DateTime.UtcNow;

            foreach (var header in headers.GetAll())
                context.Headers.Set(header.Key, header.Value);

            context.Serializer = serializerContext.GetMessageSerializer();
            return Task.CompletedTask;
        }

        public void Probe(ProbeContext context)
        {
        }

        // Transport headers hold plain values (RabbitMQ refuses arbitrary objects).
        static object? ToHeaderValue(JsonElement value) => value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number when value.TryGetInt64(out var integer) => integer,
            JsonValueKind.Number => value.GetDouble(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            _ => value.GetRawText(),
        };
    }
}
