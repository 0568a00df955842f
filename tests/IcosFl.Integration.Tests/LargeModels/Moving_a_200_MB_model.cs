using System.Diagnostics;
using IcosFl.Contracts;
using IcosFl.Controller.Payloads;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Infrastructure.Redis;
using IcosFl.Infrastructure.Weights;
using IcosFl.Integration.Tests.Broker;
using IcosFl.Integration.Tests.Servers;
using IcosFl.Learning.NodeData;
using IcosFl.Worker;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace IcosFl.Integration.Tests.LargeModels;

/// <summary>
/// Weights far beyond RabbitMQ's message limits on the real path: WeightTransport packs them into the
/// Redis claim-check store, a MassTransit message over RabbitMQ carries only the reference, the consumer
/// unpacks and verifies them. And a round whose weights have expired is declined with the reason.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class Moving_a_200_MB_model(TestServers servers, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Parameters = 50 * 1024 * 1024; // 200 MiB of float32
    private BrokerDefinitions _vhost = null!;
    private IConnectionMultiplexer _redis = null!;

    public async Task InitializeAsync()
    {
        _vhost = await BrokerDefinitions.LoadAsync(servers);
        _redis = await ConnectionMultiplexer.ConnectAsync(servers.RedisConfiguration);
    }

    public async Task DisposeAsync()
    {
        await _vhost.DisposeAsync();
        _redis.Dispose();
    }

    [Fact]
    public async Task A_200_MB_weight_update_travels_by_claim_check_and_arrives_intact()
    {
        var transport = new WeightTransport(new RedisClaimCheckStore(_redis), new WeightTransportOptions());
        var received = new MessageRecorder<Arrival>();
        using var host = await StartBusAsync(x =>
        {
            x.AddConsumer<UnpackingConsumer>();
        }, services => services.AddSingleton(transport).AddSingleton(received));

        var model = Storing_payloads_in_redis.Model(Parameters);
        var stopwatch = Stopwatch.StartNew();
        var payload = await transport.PackAsync(model, "large-test");
        var packed = stopwatch.Elapsed;
        Assert.Null(payload.Inline);
        Assert.True(payload.Length > 200 * 1024 * 1024, $"encoded length {payload.Length}");

        await host.Services.GetRequiredService<IBus>().Publish(new WeightUpdateSubmitted
        {
            FederationId = Guid.NewGuid(),
            RoundId = Guid.NewGuid(),
            Round = 1,
            WorkerId = "large-1",
            Weights = payload,
            NumExamples = 10,
            Metrics = new TrainMetrics(0.5, 1, 1),
        });
        var arrival = (await received.WaitUntilAsync(a => a.Count == 1, TimeSpan.FromSeconds(60), "the 200 MB update")).Single();
        output.WriteLine($"pack {packed.TotalMilliseconds:0} ms, pack + publish + consume + unpack {stopwatch.Elapsed.TotalMilliseconds:0} ms, message body {arrival.BodyBytes} bytes");

        // The broker carried a reference, not the weights.
        Assert.InRange(arrival.BodyBytes, 1, 16 * 1024);
        Assert.Equal(model.Tensors.Select(t => t.Name), arrival.Weights.Tensors.Select(t => t.Name));
        for (var i = 0; i < model.Tensors.Count; i++)
            Assert.True(model.Tensors[i].Data.AsSpan().SequenceEqual(arrival.Weights.Tensors[i].Data), $"tensor {i} differs after the trip");

        await new RedisClaimCheckStore(_redis).DeleteAsync(payload.ClaimCheckKey!);
    }

    [Fact]
    public async Task A_worker_declines_a_round_whose_claim_checked_weights_expired_and_says_why()
    {
        var transport = new WeightTransport(new RedisClaimCheckStore(_redis), new WeightTransportOptions());
        var declines = new MessageRecorder<TrainingDeclined>();
        // The controller's side of a download: it serves the chunks of global models from its Redis (none here: expired).
        using var controller = await StartBusAsync(x =>
            {
                x.AddConsumer<RecordingConsumer<TrainingDeclined>>();
                x.AddConsumer<WeightChunkRequestConsumer>();
            },
            services => services.AddSingleton(declines).AddSingleton<IClaimCheckStore>(new RedisClaimCheckStore(_redis)));
        var node = new WorkerNode(new WorkerOptions { WorkerId = "expired-1", HeartbeatInterval = 30 }, new SyntheticNodeData(1, 300, 42));
        var worker = Host.CreateApplicationBuilder();
        worker.Services.AddDeployedWorker(new ConnectionSettings { Broker = _vhost.AdminUri.ToString(), }, node);
        worker.Services.AddOptions<MassTransitHostOptions>().Configure(o => o.WaitUntilStarted = true);
        using var workerHost = worker.Build();
        await workerHost.StartAsync();
        try
        {
            var payload = await transport.PackAsync(Storing_payloads_in_redis.Model(1_000_000), $"{Guid.NewGuid():N}:global:1");
            await new RedisClaimCheckStore(_redis).DeleteAsync(payload.ClaimCheckKey!);
            var round = Guid.NewGuid();
            await controller.Services.GetRequiredService<IBus>().Publish(new RoundStarted
            {
                FederationId = Guid.NewGuid(),
                RoundId = round,
                Round = 1,
                WorkerId = node.WorkerId,
               
                GlobalWeights = payload,
                RunConfig = RunConfig.Default,
                Deadline = DateTimeOffset.UtcNow.AddMinutes(1),
            });

            var declined = (await declines.WaitUntilAsync(d => d.Any(x => x.RoundId == round), TimeSpan.FromSeconds(30), "the decline")).Single();
            Assert.Equal(node.WorkerId, declined.WorkerId);
            Assert.Contains($"cannot read the global weights: claim-check key '{payload.ClaimCheckKey}' is missing or expired", declined.Reason);
        }
        finally
        {
            await workerHost.StopAsync();
            await controller.StopAsync();
        }
    }

    private Task<IHost> StartBusAsync(Action<IBusRegistrationConfigurator> consumers, Action<IServiceCollection> services) =>
        TestBus.StartOnRabbitMqAsync(_vhost.AdminUri, "icosfl-large-test", consumers, services);

    public sealed record Arrival(ModelWeights Weights, long BodyBytes);

    public sealed class UnpackingConsumer(WeightTransport transport, MessageRecorder<Arrival> arrivals) : IConsumer<WeightUpdateSubmitted>
    {
        public async Task Consume(ConsumeContext<WeightUpdateSubmitted> context)
        {
            var weights = await transport.UnpackAsync(context.Message.Weights, context.CancellationToken);
            arrivals.Record(new Arrival(weights, context.ReceiveContext.Body.GetBytes().Length));
        }
    }
}
