using IcosFl.Infrastructure.Messaging;
using IcosFl.Worker;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace IcosFl.Integration.Tests.Broker;

public sealed partial class Enrolling_nodes
{
    /// <summary>
    /// A node may read the exchanges that address workers (its own bindings need it), so without topic permissions it
    /// could bind its own queue with another node's id, or "#", and receive that node's round starts. The broker must
    /// refuse every such binding, queue or exchange, and routing by id must still reach the node's own queue only.
    /// </summary>
    [Fact]
    public async Task Should_refuse_a_node_binding_to_messages_addressed_to_another_node()
    {
        var (a, b) = (NewId("a"), NewId("b"));
        var nodeA = await EnrolAsync(a);
        await EnrolAsync(b);
        var (queueA, queueB) = (WorkerRegistration.EndpointName(a), WorkerRegistration.EndpointName(b));
        await using var admin = await new ConnectionFactory { Uri = _definitions.AdminUri }.CreateConnectionAsync();
        await using var adminChannel = await admin.CreateChannelAsync();
        foreach (var exchange in RabbitMqTopology.AddressedExchanges)
            await adminChannel.ExchangeDeclareAsync(exchange, RabbitMqTopology.AddressedExchangeType, durable: true);
        await adminChannel.QueueDeclareAsync(queueB, durable: true, exclusive: false, autoDelete: false);

        await using var connection = await new ConnectionFactory { Uri = nodeA }.CreateConnectionAsync();
        await using (var own = await connection.CreateChannelAsync())
        {
            await own.QueueDeclareAsync(queueA, durable: true, exclusive: false, autoDelete: false);
            await own.ExchangeDeclareAsync(queueA, ExchangeType.Fanout, durable: true);
            foreach (var exchange in RabbitMqTopology.AddressedExchanges)
                await own.QueueBindAsync(queueA, exchange, a);
        }

        foreach (var exchange in RabbitMqTopology.AddressedExchanges)
            foreach (var key in new[] { b, "#", "*", $"{b}.#" })
            {
                await using var channel = await connection.CreateChannelAsync();
                var refused = await Assert.ThrowsAsync<OperationInterruptedException>(() => channel.QueueBindAsync(queueA, exchange, key));
                Assert.Equal(403, refused.ShutdownReason!.ReplyCode);
                Assert.Contains($"topic '{key}'", refused.ShutdownReason.ReplyText);
                await using var again = await connection.CreateChannelAsync();
                var refusedExchange = await Assert.ThrowsAsync<OperationInterruptedException>(() => again.ExchangeBindAsync(queueA, exchange, key));
                Assert.Equal(403, refusedExchange.ShutdownReason!.ReplyCode);
            }

        // What the broker routes: a round start for B does not reach A's queue; one for A does.
        var round = RabbitMqTopology.AddressedExchanges[0];
        await adminChannel.BasicPublishAsync(round, b, System.Text.Encoding.UTF8.GetBytes("for b"));
        await adminChannel.BasicPublishAsync(round, a, System.Text.Encoding.UTF8.GetBytes("for a"));
        await WaitUntilAsync(async () => await adminChannel.MessageCountAsync(queueA) >= 1, "the round start for A in A's queue");
        var got = await adminChannel.BasicGetAsync(queueA, autoAck: true);
        Assert.Equal("for a", System.Text.Encoding.UTF8.GetString(got!.Body.Span));
        Assert.Null(await adminChannel.BasicGetAsync(queueA, autoAck: true));
        await adminChannel.QueueDeleteAsync(queueA);
        await adminChannel.QueueDeleteAsync(queueB);
    }
}
