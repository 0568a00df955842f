using MassTransit;

namespace IcosFl.Infrastructure.Messaging;

/// <summary>
/// How IcosFl's consumers and saga activities publish. The controller's and worker's projects ban every other way to
/// publish or send on a MassTransit endpoint (services/BannedSymbols.Publishing.txt, compile error RS0030); the state
/// machines' own PublishAsync and Schedule activities stay allowed, as MassTransit passes the consume's token there.
/// The token matters: a publish still waiting for its confirm when the broker goes away can wait for good
/// (RabbitMQ.Client 7.2, rabbitmq-dotnet-client#1930). Inside a consume that wait holds the message, so the receive
/// endpoint never restarts and the node stops consuming for good while it still looks alive. MassTransit cancels the
/// consume context's token when the endpoint's connection goes, which ends the wait and lets the endpoint recover
/// (Consuming_again_after_a_broker_restart).
/// </summary>
public static class ConsumePublishing
{
    /// <summary>Publishes <paramref name="message"/>, giving up when the consume is cancelled.</summary>
    public static Task PublishFromConsumer<T>(this ConsumeContext context, T message) where T : class =>
        context.Publish(message, context.CancellationToken);
}
