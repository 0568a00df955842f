using IcosFl.Contracts;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Infrastructure.Weights;
using IcosFl.Integration.Tests.Servers;
using IcosFl.Learning;
using IcosFl.Learning.NodeData;
using IcosFl.Worker;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using StackExchange.Redis;

namespace IcosFl.Integration.Tests.Broker;

/// <summary>
/// The least-privilege broker users of compose/rabbitmq/definitions.json, on the real broker: the worker
/// user runs a worker's whole traffic (declare its queue, bind it, consume, heartbeats, weight updates)
/// but RabbitMQ itself refuses it the controller's commands.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class Restricting_what_a_worker_may_do(TestServers servers) : IAsyncLifetime
{
    private BrokerDefinitions _definitions = null!;

    public async Task InitializeAsync() => _definitions = await BrokerDefinitions.LoadAsync(servers);

    public async Task DisposeAsync() => await _definitions.DisposeAsync();

    [Theory]
    [InlineData("IcosFl.Contracts:StartFederation", ExchangeType.Fanout)]
    [InlineData("IcosFl.Contracts:RoundStarted", ExchangeType.Direct)]
    [InlineData("IcosFl.Contracts:StopFederation", ExchangeType.Fanout)]
    public async Task The_broker_refuses_a_worker_publishing_a_controller_command(string exchange, string type)
    {
        await DeclareAsAdminAsync(exchange, type);
        await using var connection = await Connect(_definitions.WorkerUri);
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(
            publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));

        var refused = await Assert.ThrowsAnyAsync<Exception>(async () =>
            await channel.BasicPublishAsync(exchange, "edge-1", false, new BasicProperties { Persistent = true }, "{}"u8.ToArray()));

        var reason = channel.CloseReason ?? (refused as OperationInterruptedException)?.ShutdownReason;
        Assert.NotNull(reason);
        Assert.Equal(403, reason!.ReplyCode);
        Assert.Contains("ACCESS_REFUSED", reason.ReplyText);
        Assert.Contains($"exchange '{exchange}'", reason.ReplyText);
    }

    [Fact]
    public async Task The_broker_accepts_a_worker_heartbeat_and_refuses_reading_the_controller_queues()
    {
        await DeclareAsAdminAsync("IcosFl.Contracts:WorkerHeartbeat", ExchangeType.Fanout);
        await using var connection = await Connect(_definitions.WorkerUri);
        await using (var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true)))
        {
            // Confirmed by the broker: returns without an exception.
            await channel.BasicPublishAsync("IcosFl.Contracts:WorkerHeartbeat", "", false, new BasicProperties(), "{}"u8.ToArray());
        }

        await using var admin = await Connect(_definitions.AdminUri);
        await using (var adminChannel = await admin.CreateChannelAsync())
            await adminChannel.QueueDeclareAsync("icosfl-round-state", durable: true, exclusive: false, autoDelete: false);
        await using var workerChannel = await connection.CreateChannelAsync();
        var refused = await Assert.ThrowsAsync<OperationInterruptedException>(() =>
            workerChannel.BasicConsumeAsync("icosfl-round-state", true, new AsyncEventingBasicConsumer(workerChannel)));
        Assert.Equal(403, refused.ShutdownReason!.ReplyCode);
        Assert.Contains("ACCESS_REFUSED", refused.ShutdownReason.ReplyText);
    }

    [Fact]
    public async Task A_real_worker_with_the_worker_user_trains_a_round_and_sends_heartbeats()
    {
        var workerId = $"perm-{Guid.NewGuid():N}"[..13];
        var heartbeats = new MessageRecorder<WorkerHeartbeat>();
        var updates = new MessageRecorder<WeightUpdateSubmitted>();
        using var redis = await ConnectionMultiplexer.ConnectAsync(servers.RedisConfiguration);

        // The controller's side of the traffic, with the controller user.
        using var controllerHost = await TestBus.StartOnRabbitMqAsync(_definitions.ControllerUri, "icosfl-perm-controller", x =>
            {
                x.AddConsumer<RecordingConsumer<WorkerHeartbeat>>();
                x.AddConsumer<RecordingConsumer<WeightUpdateSubmitted>>();
            },
            services => services.AddSingleton(heartbeats).AddSingleton(updates));

        // The worker exactly as `icosfl worker` hosts it, with the worker user.
        var node = new WorkerNode(new WorkerOptions { WorkerId = workerId, HeartbeatInterval = 0.5 }, new SyntheticNodeData(3, 400, 42));
        var worker = Host.CreateApplicationBuilder();
        worker.Services.AddDeployedWorker(new ConnectionSettings { Broker = _definitions.WorkerUri.ToString(), }, node);
        worker.Services.AddOptions<MassTransitHostOptions>().Configure(o => o.WaitUntilStarted = true);
        using var workerHost = worker.Build();
        await workerHost.StartAsync();
        try
        {
            await heartbeats.WaitUntilAsync(h => h.Any(x => x.WorkerId == workerId), TimeSpan.FromSeconds(20), "a heartbeat from the worker user");

            var config = RunConfig.Default with { LocalEpochs = 1 };
            var transport = new WeightTransport(new InMemoryClaimCheckStore(), new WeightTransportOptions());
            var bus = controllerHost.Services.GetRequiredService<IBus>();
            var round = Guid.NewGuid();
            await bus.Publish(new RoundStarted
            {
                FederationId = Guid.NewGuid(),
                RoundId = round,
                Round = 1,
                WorkerId = workerId,
               
                GlobalWeights = await transport.PackAsync(LocalTraining.InitialWeights(config), "perm"),
                RunConfig = config,
                Deadline = DateTimeOffset.UtcNow.AddMinutes(2),
            });

            var update = (await updates.WaitUntilAsync(u => u.Any(x => x.RoundId == round), TimeSpan.FromSeconds(60), "the worker's weight update")).Single(u => u.RoundId == round);
            Assert.Equal(workerId, update.WorkerId);
            Assert.True(update.NumExamples > 0);
        }
        finally
        {
            await workerHost.StopAsync();
            await controllerHost.StopAsync();
        }
    }

    private async Task DeclareAsAdminAsync(string exchange, string type)
    {
        await using var admin = await Connect(_definitions.AdminUri);
        await using var channel = await admin.CreateChannelAsync();
        await channel.ExchangeDeclareAsync(exchange, type, durable: true);
    }

    private static Task<IConnection> Connect(Uri uri) => new ConnectionFactory { Uri = uri }.CreateConnectionAsync();
}
