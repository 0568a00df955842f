using System.Collections.Concurrent;
using System.Diagnostics;
using IcosFl.Infrastructure.Messaging;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit.Abstractions;

namespace IcosFl.Integration.Tests.Servers;

public sealed record KeepTalking(Guid Id, DateTime UntilUtc);

public sealed record Said(Guid Id, int Index);

public sealed record AreYouThere(Guid Id);

/// <summary>Publishes one message after another, each awaited (publisher confirms), as a worker publishes its update.</summary>
public sealed class TalkingConsumer : IConsumer<KeepTalking>
{
    public async Task Consume(ConsumeContext<KeepTalking> context)
    {
        // As IcosFl's consumers publish, with the consume context's token: the endpoint cancels it when its connection
        // is gone, which ends a publish whose confirm will never come. Without it (a bare context.Publish) the endpoint
        // consumed again only after 26-30 s, or never, 2 runs in 6 (RabbitMQ.Client 7.2.2, rabbitmq-dotnet-client#1930).
        for (var i = 0; DateTime.UtcNow < context.Message.UntilUtc; i++)
            await context.PublishFromConsumer(new Said(context.Message.Id, i));
    }
}

public sealed class AnsweringConsumer(ConcurrentDictionary<Guid, DateTime> answered) : IConsumer<AreYouThere>
{
    public Task Consume(ConsumeContext<AreYouThere> context)
    {
        answered[context.Message.Id] = DateTime.UtcNow;
        return Task.CompletedTask;
    }
}

/// <summary>
/// A receive endpoint whose consumers were publishing when the broker stopped must consume again once it is back:
/// a publish whose confirm never comes (the connection died under it) must not hold the endpoint for good, or a
/// worker goes on sending heartbeats while it never trains again.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class Consuming_again_after_a_broker_restart(TestServers servers, ITestOutputHelper output)
{
    [Fact]
    public async Task An_endpoint_whose_consumers_were_publishing_when_the_broker_stopped_consumes_again()
    {
        var answered = new ConcurrentDictionary<Guid, DateTime>();
        var queue = $"icosfl-test-talking-{Guid.NewGuid():N}";
        var host = await TestBus.StartOnRabbitMqAsync(servers.BrokerUri, queue, x =>
        {
            x.AddConsumer<TalkingConsumer>();
            x.AddConsumer<AnsweringConsumer>();
        }, services => services.AddSingleton(answered), logging => logging.ToTestOutput(output, "bus"));
        try
        {
            var bus = host.Services.GetRequiredService<IBus>();
            var endpoint = await bus.GetSendEndpoint(new Uri($"queue:{queue}"));
            await AnsweredAsync(endpoint, answered, TimeSpan.FromSeconds(30), "before the restart");

            // Consumers publishing without pause, so that publishes are in flight whenever the broker goes.
            // Two of them (the endpoint runs 4 at once here), for a few seconds: redelivered after the restart, they end at once.
            var until = DateTime.UtcNow.AddSeconds(4);
            for (var i = 0; i < 2; i++)
                await endpoint.Send(new KeepTalking(Guid.NewGuid(), until));
            await Task.Delay(1500);
            output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} stopping the broker");
            await servers.RabbitMq.StopAsync();
            await servers.RabbitMq.StartAsync();
            output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} broker back");

            var clock = Stopwatch.StartNew();
            // 5-9 s here with the token; 26-30 s or never without it.
            await AnsweredAsync(endpoint, answered, TimeSpan.FromSeconds(20), "after the restart");
            output.WriteLine($"consumed again {clock.Elapsed.TotalSeconds:0.0} s after the broker was back");
        }
        finally
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await host.StopAsync(timeout.Token);
            host.Dispose();
        }
    }

    /// <summary>Sends AreYouThere until one is consumed (sending itself may fail while the bus reconnects).</summary>
    private static async Task AnsweredAsync(ISendEndpoint endpoint, ConcurrentDictionary<Guid, DateTime> answered, TimeSpan within, string when)
    {
        var deadline = DateTime.UtcNow + within;
        var sent = new List<Guid>();
        while (DateTime.UtcNow < deadline)
        {
            var id = Guid.NewGuid();
            try
            {
                using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await endpoint.Send(new AreYouThere(id), attempt.Token);
                sent.Add(id);
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                // The bus is reconnecting.
            }

            await Task.Delay(1000);
            if (sent.Any(answered.ContainsKey))
                return;
        }

        Assert.Fail($"the endpoint consumed none of {sent.Count} messages sent {when} within {within.TotalSeconds:0} s");
    }
}
