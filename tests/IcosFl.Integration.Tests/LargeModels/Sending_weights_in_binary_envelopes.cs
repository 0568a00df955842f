using System.Text.Json;
using IcosFl.Contracts;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Integration.Tests.Broker;
using IcosFl.Integration.Tests.Servers;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace IcosFl.Integration.Tests.LargeModels;

/// <summary>
/// The binary envelope on the real RabbitMQ: every weight-carrying message arrives with its bytes intact
/// and labelled as a binary envelope, and a receiver still takes MassTransit's JSON from a process that
/// sends JSON (ICOSFL_WEIGHTS_WIRE=json, or a version from before the binary envelope).
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class Sending_weights_in_binary_envelopes(TestServers servers) : IAsyncLifetime
{
    private BrokerDefinitions _vhost = null!;

    public async Task InitializeAsync() => _vhost = await BrokerDefinitions.LoadAsync(servers);

    public async Task DisposeAsync() => await _vhost.DisposeAsync();

    [Fact]
    public async Task Every_weight_carrying_message_crosses_the_broker_as_a_binary_envelope_and_arrives_equal()
    {
        var arrivals = new MessageRecorder<Arrival>();
        using var host = await StartBusAsync(WeightsWireFormat.BinaryEnvelope, arrivals);
        var sent = Messages();

        foreach (var message in sent)
            await host.Services.GetRequiredService<IBus>().Publish(message, message.GetType());

        var received = await arrivals.WaitUntilAsync(a => a.Count == sent.Length, TimeSpan.FromSeconds(30), "the four weight-carrying messages");
        foreach (var message in sent)
        {
            var arrival = Assert.Single(received, a => a.Message.GetType() == message.GetType());
            Assert.Equal(BinaryEnvelopeSerializer.ContentTypeName, arrival.ContentType);
            Assert.Equal(JsonSerializer.Serialize(message, message.GetType()), JsonSerializer.Serialize(arrival.Message, message.GetType()));
        }

        // The 1,000,000 inline bytes of the update travelled raw: the body is barely larger than they are.
        var update = Assert.Single(received, a => a.Message is WeightUpdateSubmitted);
        Assert.InRange(update.BodyBytes, 1_000_000, 1_004_000);
        await host.StopAsync();
    }

    [Fact]
    public async Task A_receiver_still_consumes_weights_sent_in_masstransit_json()
    {
        var arrivals = new MessageRecorder<Arrival>();
        using var receiver = await StartBusAsync(WeightsWireFormat.BinaryEnvelope, arrivals);
        using var jsonSender = await StartBusAsync(WeightsWireFormat.Json, receiving: null);
        var update = Messages().OfType<WeightUpdateSubmitted>().Single();

        await jsonSender.Services.GetRequiredService<IBus>().Publish(update);

        var arrival = (await arrivals.WaitUntilAsync(a => a.Count == 1, TimeSpan.FromSeconds(30), "the JSON update")).Single();
        Assert.Equal("application/vnd.masstransit+json", arrival.ContentType);
        Assert.Equal(update.Weights.Inline, ((WeightUpdateSubmitted)arrival.Message).Weights.Inline);
        // Base64 in JSON: a third more than the bytes.
        Assert.True(arrival.BodyBytes > 1_333_000, $"JSON body of {arrival.BodyBytes} bytes");
        await jsonSender.StopAsync();
        await receiver.StopAsync();
    }

    private static object[] Messages()
    {
        var federation = Guid.NewGuid();
        var round = Guid.NewGuid();
        var deadline = new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
        return
        [
            new RoundStarted
            {
                FederationId = federation, RoundId = round, Round = 2, WorkerId = "worker-1",
                GlobalWeights = Payload(70_001, 1), RunConfig = RunConfig.Default, Deadline = deadline,
            },
            new EvaluationRequested
            {
                FederationId = federation, RoundId = round, Round = 2, WorkerId = "worker-1", GlobalWeights = Payload(17, 2),
                RunConfig = RunConfig.Default, Deadline = deadline,
            },
            new WeightUpdateSubmitted
            {
                FederationId = federation, RoundId = round, Round = 2, WorkerId = "worker-1", Weights = Payload(1_000_000, 3),
                NumExamples = 99, Metrics = new TrainMetrics(0.25, 1, 10),
            },
            new RoundCompleted
            {
                FederationId = federation, RoundId = round, Round = 2, Participants = ["worker-1"], TrainLoss = 0.25, DurationMs = 5,
                GlobalWeights = Payload(4_096, 4), ServerState = Payload(512, 5),
            },
        ];
    }

    private static WeightsPayload Payload(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return new WeightsPayload { Inline = bytes, Length = length, Checksum = $"{seed:x16}" };
    }

    private async Task<IHost> StartBusAsync(WeightsWireFormat wire, MessageRecorder<Arrival>? receiving)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o => o.WaitUntilStarted = true);
        if (receiving is not null)
            builder.Services.AddSingleton(receiving);
        builder.Services.AddMassTransit(x =>
        {
            if (receiving is not null)
            {
                x.AddConsumer<ArrivalConsumer<RoundStarted>>();
                x.AddConsumer<ArrivalConsumer<EvaluationRequested>>();
                x.AddConsumer<ArrivalConsumer<WeightUpdateSubmitted>>();
                x.AddConsumer<ArrivalConsumer<RoundCompleted>>();
            }

            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(_vhost.AdminUri);
                cfg.UseIcosFlWeightsWire(wire);
                if (receiving is not null)
                    cfg.ReceiveEndpoint("icosfl-binary-envelope-test", e => e.ConfigureConsumers(context));
            });
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    public sealed record Arrival(object Message, string ContentType, long BodyBytes);

    public sealed class ArrivalConsumer<T>(MessageRecorder<Arrival> arrivals) : IConsumer<T>
        where T : class
    {
        public Task Consume(ConsumeContext<T> context)
        {
            arrivals.Record(new Arrival(context.Message, context.ReceiveContext.ContentType?.MediaType ?? "", context.ReceiveContext.Body.GetBytes().Length));
            return Task.CompletedTask;
        }
    }
}
