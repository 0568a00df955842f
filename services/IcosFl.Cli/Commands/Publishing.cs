using IcosFl.Infrastructure.Hosting;
using IcosFl.Infrastructure.Messaging;
using MassTransit;

namespace IcosFl.Cli.Commands;

/// <summary>A short-lived bus for commands that only publish (start, stop).</summary>
public static class Publishing
{
    /// <summary>
    /// Publishes as mandatory: when no queue is bound to the message's exchange (no controller has ever
    /// run on this broker and vhost), RabbitMQ returns the message and this throws
    /// <see cref="NobodyListeningException"/> instead of the command vanishing.
    /// </summary>
    public static async Task PublishAsync<T>(ConnectionSettings settings, T message, CancellationToken ct) where T : class
    {
        using var startTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        startTimeout.CancelAfter(NodeStartup.ConnectTimeout);
        await using var bus = await IcosFlBus.StartPublishingBusAsync(settings.Broker, startTimeout.Token);
        try
        {
            await bus.Bus.Publish(message, context =>
            {
                if (context.TryGetPayload<RabbitMqSendContext>(out var rabbit))
                    rabbit.Mandatory = true;
            }, ct);
        }
        catch (MessageReturnedException)
        {
            throw new NobodyListeningException(
                $"nobody listens for {typeof(T).Name} on {settings.BrokerForDisplay}: start the controller (icosfl controller) on this broker and vhost first");
        }
    }
}

public sealed class NobodyListeningException(string message) : Exception(message);
