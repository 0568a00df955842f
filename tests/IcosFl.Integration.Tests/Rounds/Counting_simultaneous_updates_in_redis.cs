using IcosFl.Contracts;
using IcosFl.Controller;
using IcosFl.Controller.Messages;
using IcosFl.Controller.Rounds;
using IcosFl.Controller.Sagas;
using IcosFl.Infrastructure.Redis;
using IcosFl.Infrastructure.Sagas;
using IcosFl.Infrastructure.Scheduling;
using IcosFl.Infrastructure.Weights;
using IcosFl.Integration.Tests.Servers;
using IcosFl.Learning;
using IcosFl.Learning.NodeData;
using IcosFl.TestKit;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace IcosFl.Integration.Tests.Rounds;

/// <summary>The real round saga on the Redis saga repository and its ledger in Redis, with 50 workers answering at the same moment.</summary>
[Collection(ServersCollection.Name)]
public sealed class Counting_simultaneous_updates_in_redis(TestServers servers)
{
    [Fact]
    public async Task Should_count_fifty_simultaneous_updates_exactly_once()
    {
        var prefix = $"icosfl-test:{Guid.NewGuid():N}:";
        var completed = new MessageRecorder<RoundCompleted>();
        var redis = await ConnectionMultiplexer.ConnectAsync(servers.RedisConfiguration);
        var transport = new WeightTransport(new RedisClaimCheckStore(redis), new WeightTransportOptions());
        var host = await TestBus.StartAsync(servers, BusTransport.InMemory, x =>
            {
                x.SetRedisSagaRepositoryProvider(o => o.KeyPrefix = prefix);
                x.AddRedisMessageScheduler(o => o.KeyPrefix = prefix);
                x.AddIcosFlController();
                x.AddConsumer<RecordingConsumer<RoundCompleted>>();
            },
            useRedisScheduler: true,
            services: s => s
                .AddSingleton(completed)
                .AddSingleton<IClaimCheckStore>(new RedisClaimCheckStore(redis))
                .AddSingleton(new WeightTransportOptions())
                .AddSingleton(transport)
                .AddSingleton<IRoundLedger>(new RedisRoundLedger(redis, prefix))
                .AddSingleton<INodeDataSource>(new SyntheticNodeData(0, 300, 1))
                .AddIcosFlControllerServices(new ControllerOptions()));
        try
        {
            var workers = Enumerable.Range(1, 50).Select(i => $"worker-{i:00}").ToList();
            var config = RunConfig.Default with { NumServerRounds = 1, MinFitClients = 50, MinEvaluateClients = 99, RoundTimeout = 120 };
            var global = LocalTraining.InitialWeights(config);
            var payload = await transport.PackAsync(global, "fifty");
            var roundId = NewId.NextGuid();
            var bus = host.Services.GetRequiredService<IBus>();
            await bus.Publish(new RoundOpened
            {
                FederationId = NewId.NextGuid(), RoundId = roundId, Round = 1, Attempt = 1, RunConfig = config,
                SelectedWorkers = workers, GlobalWeights = payload, OpenedAt = DateTimeOffset.UtcNow,
            });
            var store = new RedisSagaStore<RoundState>(redis, new RedisSagaRepositoryOptions { KeyPrefix = prefix });
            await Eventually.WithinAsync(async () => await store.GetAsync(roundId) is not null, TimeSpan.FromSeconds(30));

            // Every worker adds i to every weight; each sends once, and worker-01 a second time (a redelivery).
            var updates = workers.Select((w, i) => (Worker: w, Weights: Shift(global, i + 1)))
                .Append((Worker: "worker-01", Weights: Shift(global, 1000))).ToList();
            await Task.WhenAll(updates.Select(async u => await bus.Publish(new WeightUpdateSubmitted
            {
                FederationId = Guid.Empty, RoundId = roundId, Round = 1, WorkerId = u.Worker,
                Weights = await transport.PackAsync(u.Weights, $"fifty:{u.Worker}:{u.Weights.Tensors[0].Data[0]}"),
                NumExamples = 10, Metrics = new TrainMetrics(0.5, 1, 1),
            })));

            var done = (await completed.WaitUntilAsync(m => m.Count >= 1, TimeSpan.FromSeconds(90), "RoundCompleted")).Single();
            Assert.Equal(workers, done.Participants.Order());
            var state = (await store.GetAsync(roundId))!;
            Assert.Equal(50, state.Updates.Select(u => u.WorkerId).Distinct().Count());
            Assert.Equal(50, state.Updates.Count);
            // Mean of 1..50 = 25.5: any update counted twice, or the second one of worker-01, would move it.
            var next = await transport.UnpackAsync(done.GlobalWeights);
            Assert.Equal(global.Tensors[0].Data[0] + 25.5f, next.Tensors[0].Data[0], 3);
        }
        finally
        {
            await host.StopAsync();
            redis.Dispose();
        }
    }

    private static ModelWeights Shift(ModelWeights weights, float by) =>
        new(weights.Tensors.Select(t => t with { Data = t.Data.Select(v => v + by).ToArray() }).ToList());
}
