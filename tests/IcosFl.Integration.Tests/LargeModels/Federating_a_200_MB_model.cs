using System.Collections.Concurrent;
using IcosFl.Contracts;
using IcosFl.Controller;
using IcosFl.Controller.Checkpoints;
using IcosFl.Controller.Payloads;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Infrastructure.Redis;
using IcosFl.Infrastructure.Weights;
using IcosFl.Integration.Tests.Broker;
using IcosFl.Integration.Tests.Servers;
using IcosFl.Learning;
using IcosFl.Learning.NodeData;
using IcosFl.Worker;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace IcosFl.Integration.Tests.LargeModels;

/// <summary>
/// A whole federation of a 200 MiB model: the deployed controller (sagas, ledgers and scheduler in Redis,
/// payloads in the payload Redis, checkpoints on disk) and two workers under the least-privileged worker
/// user, over RabbitMQ, the workers reaching nothing but the broker. Training an LSTM of that size would take hours on
/// two cores, so the workers' trainer is weights-only (as the issue allows): it unpacks the global model, adds its own
/// constant and sends the result back. Every byte still travels the real way: the global model fetched from the
/// controller in chunk messages, the updates sent back in chunk messages and stored by the controller in its Redis,
/// FedAvg, checkpoint files, the evaluation phase.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class Federating_a_200_MB_model(TestServers servers, ITestOutputHelper output) : IAsyncLifetime
{
    // hidden-layer-size 3620, one layer, one input: 4h(1 + h) + 8h + h + 1 = 52,464,661 float32 = 200.1 MiB.
    private const int Hidden = 3620;
    private const int Rounds = 2;
    private static readonly string[] Workers = ["big-1", "big-2"];
    private static readonly float[] Shift = [0.001f, 0.002f]; // each worker's constant; FedAvg of equal weights adds their mean

    private BrokerDefinitions _vhost = null!;
    private IConnectionMultiplexer _state = null!;
    private IConnectionMultiplexer _payloads = null!;
    private readonly string _checkpoints = Directory.CreateTempSubdirectory("icosfl-200mb-").FullName;
    private readonly Guid _federation = Guid.NewGuid();

    public async Task InitializeAsync()
    {
        _vhost = await BrokerDefinitions.LoadAsync(servers);
        _state = await ConnectionMultiplexer.ConnectAsync(servers.RedisConfiguration);
        _payloads = await ConnectionMultiplexer.ConnectAsync(servers.PayloadRedisConfiguration + ",allowAdmin=true");
    }

    public async Task DisposeAsync()
    {
        // Gigabytes of payloads would otherwise wait out their 24-hour time to live in the test Redis.
        var server = _payloads.GetServer(_payloads.GetEndPoints()[0]);
        var keys = server.Keys(pattern: $"{WeightTransport.KeyPrefix}{_federation:N}:*")
            .Concat(Workers.SelectMany(w => server.Keys(pattern: $"{ChunkedUploads.KeyPrefix}{w}:*"))).ToArray();
        if (keys.Length > 0)
            await _payloads.GetDatabase().KeyDeleteAsync(keys);
        Directory.Delete(_checkpoints, recursive: true);
        await _vhost.DisposeAsync();
        _state.Dispose();
        _payloads.Dispose();
    }

    [Fact]
    public async Task A_federation_of_a_200_MB_model_completes_with_every_payload_by_claim_check_and_FedAvg_exact()
    {
        var completed = new MessageRecorder<RoundCompleted>();
        var finished = new MessageRecorder<FederationCompleted>();
        var failed = new MessageRecorder<FederationFailed>();
        var seen = new RoundsSeen();
        using var controller = await StartControllerAsync();
        using var fleet = await StartFleetAsync(seen);
        using var observer = await StartObserverAsync(completed, finished, failed);

        await observer.Services.GetRequiredService<IBus>().Publish(new StartFederation
        {
            FederationId = _federation,
            RequestedBy = "test",
            RunConfigText = $"num-server-rounds={Rounds} hidden-layer-size={Hidden} num-layers=1 min-fit-clients=2 min-available-clients=2 "
                + "min-evaluate-clients=2 fraction-fit=1 fraction-evaluate=1 round-timeout=600",
        });
        await finished.WaitUntilAsync(f => f.Count == 1 || failed.Messages.Count > 0, TimeSpan.FromMinutes(4), "the 200 MB federation to end");
        Assert.Empty(failed.Messages.Select(f => f.Reason));
        Assert.Equal(Rounds, finished.Messages.Single().Rounds);

        var transport = new WeightTransport(new RedisClaimCheckStore(_payloads), new WeightTransportOptions());
        var rounds = completed.Messages.Where(r => r.FederationId == _federation).OrderBy(r => r.Round).ToList();
        Assert.Equal(Enumerable.Range(1, Rounds), rounds.Select(r => r.Round));
        foreach (var round in rounds)
        {
            output.WriteLine($"round {round.Round}: {round.DurationMs:0} ms");
            Assert.Equal(Workers, round.Participants.Order());
            Assert.Equal(Workers, round.Evaluators.Order());
            Assert.NotNull(round.GlobalWeights.ClaimCheckKey);
            Assert.True(round.GlobalWeights.Length > 200 * 1024 * 1024, $"global model of {round.GlobalWeights.Length} bytes");

            // FedAvg of the two updates (equal example counts) is the global model the round started from plus the
            // mean of the workers' constants, element by element.
            var started = seen.GlobalAt[round.Round];
            var aggregated = (await transport.UnpackAsync(round.GlobalWeights)).Tensors;
            var expectedShift = Shift.Average();
            foreach (var (tensor, index, value) in started)
                Assert.Equal(value + expectedShift, aggregated[tensor].Data[index], 1e-6f);
        }

        // The aggregated updates (200 MB each, stored by the controller from the workers' chunks under keys of its own)
        // left the payload Redis with their round; the global models stay until their time to live.
        var server = _payloads.GetServer(_payloads.GetEndPoints()[0]);
        Assert.All(Workers, w => Assert.Empty(server.Keys(pattern: $"{ChunkedUploads.KeyPrefix}{w}:*")));
        Assert.All(seen.UpdateReferences, r => Assert.StartsWith(BrokerClaimCheckStore.TransferPrefix, r));
        Assert.Equal(Rounds * Workers.Length, seen.UpdateReferences.Count);
        Assert.NotEmpty(server.Keys(pattern: $"{WeightTransport.KeyPrefix}{_federation:N}:global:*"));

        // The broker carried references only, and each round's global model reached the workers claim-checked.
        Assert.All(seen.BodyBytes, b => Assert.InRange(b, 1, 16 * 1024));
        Assert.All(seen.GlobalLengths, l => Assert.True(l > 200 * 1024 * 1024));
        var checkpoint = new FileCheckpointStore(_checkpoints).PathOf(_federation, CheckpointKind.Latest);
        Assert.True(new FileInfo(checkpoint).Length > 200 * 1024 * 1024, $"checkpoint {checkpoint}");
        output.WriteLine($"peak resident memory of this process (controller, both workers, observer): {PeakResidentMiB()} MiB");
    }

    /// <summary>VmHWM of this process, in MiB.</summary>
    public static long PeakResidentMiB() =>
        long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal)).Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1],
            System.Globalization.CultureInfo.InvariantCulture) / 1024;

    private async Task<IHost> StartControllerAsync()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ToTestOutput(output, "controller");
        builder.Services.AddSingleton<ICheckpointStore>(new FileCheckpointStore(_checkpoints));
        builder.Services.AddDeployedController(
            new ConnectionSettings { Broker = _vhost.ControllerUri.ToString(), Redis = servers.RedisConfiguration, PayloadRedis = servers.PayloadRedisConfiguration },
            // The fleet runs as the shared icosfl-worker user (one bus for both workers): the development mode.
            _state, new ControllerOptions { QuorumPollInterval = TimeSpan.FromMilliseconds(200), SharedWorkerUser = BrokerIdentity.SharedWorkerUser },
            // No data of its own, so no centralized evaluation (an LSTM this size would take minutes to run).
            new InMemoryNodeStore("controller"), _payloads);
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o => o.WaitUntilStarted = true);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>Two workers as deployed ones are (own queue bound by worker id, heartbeats, worker user), trainer weights-only.</summary>
    private async Task<IHost> StartFleetAsync(RoundsSeen seen)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ToTestOutput(output, "workers");
        var nodes = Workers.Select(id => new WorkerNode(new WorkerOptions { WorkerId = id, HeartbeatInterval = 5 }, new SyntheticNodeData(1, 300, 7))).ToList();
        // Nothing but the broker: each worker's payloads travel as chunk messages through the fleet's bus.
        builder.Services.AddIcosFlWorkers(nodes);
        builder.Services.AddSingleton(seen);
        builder.Services.AddMassTransit(x =>
        {
            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(_vhost.WorkerUri);
                cfg.UseIcosFlTopology();
                cfg.UseBrokerUserId(BrokerIdentity.SharedWorkerUser);
                for (var i = 0; i < Workers.Length; i++)
                {
                    var (id, shift) = (Workers[i], Shift[i]);
                    var transport = new WeightTransport(new BrokerClaimCheckStore(context.GetRequiredService<IBus>, id), new WeightTransportOptions());
                    cfg.ReceiveEndpoint(WorkerRegistration.EndpointName(id), e =>
                    {
                        e.ConfigureConsumeTopology = false;
                        e.BindAddressedToWorker(id);
                        e.Consumer(() => new WeightsOnlyTrainer(transport, seen, shift));
                        e.Consumer(() => new WeightsOnlyEvaluator(transport, seen));
                    });
                }
            });
        });
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o => o.WaitUntilStarted = true);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private Task<IHost> StartObserverAsync(params object[] recorders) =>
        TestBus.StartOnRabbitMqAsync(_vhost.AdminUri, "icosfl-test-200mb-observer", x =>
            {
                x.AddConsumer<RecordingConsumer<RoundCompleted>>();
                x.AddConsumer<RecordingConsumer<FederationCompleted>>();
                x.AddConsumer<RecordingConsumer<FederationFailed>>();
            },
            services =>
            {
                foreach (var recorder in recorders)
                    services.AddSingleton(recorder.GetType(), recorder);
            },
            logging => logging.ToTestOutput(output, "observer"));

    /// <summary>What the workers saw: a sample of each round's global model, message sizes, payload lengths.</summary>
    public sealed class RoundsSeen
    {
        public ConcurrentDictionary<int, List<(int Tensor, int Index, float Value)>> GlobalAt { get; } = new();
        public ConcurrentBag<long> BodyBytes { get; } = [];
        public ConcurrentBag<long> GlobalLengths { get; } = [];
        public ConcurrentBag<string> UpdateReferences { get; } = [];

        public void Saw(ConsumeContext context, WeightsPayload global)
        {
            BodyBytes.Add(context.ReceiveContext.Body.GetBytes().Length);
            GlobalLengths.Add(global.Length);
        }

        /// <summary>Every 9973rd value of every tensor, and each tensor's last.</summary>
        public static List<(int, int, float)> Sample(ModelWeights weights) =>
        [
            .. weights.Tensors.SelectMany((t, ti) => Enumerable.Range(0, t.Data.Length).Where(i => i % 9973 == 0 || i == t.Data.Length - 1)
                .Select(i => (ti, i, t.Data[i]))),
        ];
    }

    public sealed class WeightsOnlyTrainer(WeightTransport transport, RoundsSeen seen, float shift) : IConsumer<RoundStarted>
    {
        public async Task Consume(ConsumeContext<RoundStarted> context)
        {
            var m = context.Message;
            seen.Saw(context, m.GlobalWeights);
            var weights = await transport.UnpackAsync(m.GlobalWeights, context.CancellationToken);
            seen.GlobalAt.TryAdd(m.Round, RoundsSeen.Sample(weights));
            foreach (var tensor in weights.Tensors)
                System.Numerics.Tensors.TensorPrimitives.Add(tensor.Data, shift, tensor.Data);
            var update = await transport.PackAsync(weights, $"{m.FederationId:N}:update:{m.Round}:{m.WorkerId}", context.CancellationToken);
            seen.UpdateReferences.Add(update.ClaimCheckKey!);
            await context.Publish(new WeightUpdateSubmitted
            {
                FederationId = m.FederationId, RoundId = m.RoundId, Round = m.Round, WorkerId = m.WorkerId,
                Weights = update,
                NumExamples = 100, Metrics = new TrainMetrics(0.1, 1, 0),
            });
        }
    }

    public sealed class WeightsOnlyEvaluator(WeightTransport transport, RoundsSeen seen) : IConsumer<EvaluationRequested>
    {
        public async Task Consume(ConsumeContext<EvaluationRequested> context)
        {
            var m = context.Message;
            seen.Saw(context, m.GlobalWeights);
            var weights = await transport.UnpackAsync(m.GlobalWeights, context.CancellationToken);
            await context.Publish(new EvaluationReported
            {
                FederationId = m.FederationId, RoundId = m.RoundId, Round = m.Round, WorkerId = m.WorkerId,
                Metrics = new EvaluationMetrics(20, 0.1, 0.316, 0.2, 0.2, 0.447, weights.Tensors.Count),
            });
        }
    }
}
