using MassTransit;

namespace IcosFl.Infrastructure.Messaging;

/// <summary>
/// The one way IcosFl's consumers and saga activities publish. The controller's and worker's projects ban every
/// other Publish overload (services/BannedSymbols.Publishing.txt, compile error RS0030), because the token matters:
/// a publish still waiting for its confirm when the broker goes away can wait for good (RabbitMQ.Client 7.2,
/// rabbitmq-dotnet-client#1930). Inside a consume that wait holds the message, so the receive endpoint never
/// restarts and the node stops consuming for good while it still looks alive. The consume context's token is
/// cancelled by MassTransit when the endpoint's connection goes, which ends the wait and lets the endpoint recover
/// (Consuming_again_after_a_broker_restart).
/// </summary>
public static class ConsumePublishing
{
    /// <summary>Publishes <paramref name="message"/>, giving up when the consume is cancelled.</summary>
    public static Task PublishFromConsumer<T>(this ConsumeContext context, T message) where T : class =>
        context.Publish(message, context.CancellationToken);
}
