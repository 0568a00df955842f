using System.Collections.Concurrent;
using System.Numerics.Tensors;
using IcosFl.Contracts;
using IcosFl.Controller.Rounds;
using IcosFl.Controller.Strategies;
using IcosFl.Controller.Workers;
using IcosFl.Infrastructure.Hosting;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Infrastructure.Redis;
using IcosFl.Infrastructure.Weights;
using IcosFl.Integration.Tests.Servers;
using IcosFl.Learning.NodeData;
using IcosFl.Worker;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace IcosFl.Integration.Tests.Broker;

/// <summary>
/// Issue 16 part 5, the aggregate: one federation of six enrolled nodes on the real broker, four of them hostile, and
/// the global model after the round is FedAvg of exactly the two honest updates, number by number. Every node's
/// trainer is weights-only (it adds a constant of its own to the global model it fetched, so each update is known
/// exactly); every payload travels as chunk messages the real way. The hostile nodes:
/// an impostor (publishes an update in each honest node's name, its chunks too, before they answer, then declines
/// its own round, and keeps a phantom node alive with heartbeats in the phantom's name from the start),
/// a tamperer (one byte of its second chunk flipped), a duplicator (its first chunk twice), and a node revoked with
/// <c>icosfl node revoke</c> once it was selected, which then publishes its update.
/// Each attack, had it succeeded, would change the aggregate (or, the phantom, the selection); the assertions are
/// collected so that a run with a protection removed names every attack that got through.
/// </summary>
public sealed partial class Enrolling_nodes
{
    private const string ScriptedModel = "num-server-rounds=1 hidden-layer-size=300 num-layers=1 local-epochs=1 min-fit-clients=2 "
        + "min-available-clients=6 fraction-fit=1 min-evaluate-clients=2 fraction-evaluate=1 round-timeout=60";

    [Fact]
    public async Task With_hostile_nodes_in_the_round_the_aggregate_is_FedAvg_of_exactly_the_honest_updates()
    {
        var (h1, h2) = (NewId("honest"), NewId("honest"));
        var (impostor, tamperer, duplicator, revoked) = (NewId("impostor"), NewId("tamper"), NewId("dup"), NewId("revoked"));
        var phantom = NewId("phantom");
        // Shifts and example counts of the honest nodes (FedAvg factors 0.25 and 0.75); the hostile ones shift by whole units.
        var honest = new Dictionary<string, (float Shift, int Examples)> { [h1] = (0.001f, 100), [h2] = (0.002f, 300) };
        var brokers = new Dictionary<string, Uri>();
        foreach (var id in new[] { h1, h2, impostor, tamperer, duplicator, revoked })
            brokers[id] = await EnrolAsync(id);

        var globals = new ConcurrentDictionary<string, ModelWeights>();
        var revokedSelected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var revocationDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var revokedPublish = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var completed = new MessageRecorder<RoundCompleted>();
        var finished = new MessageRecorder<FederationCompleted>();
        var failed = new MessageRecorder<FederationFailed>();
        using var controller = await StartControllerAsync();
        var nodes = new List<IHost>();
        using var stopPhantom = new CancellationTokenSource();
        Task phantomBeats = Task.CompletedTask;
        try
        {
            foreach (var (id, (shift, examples)) in honest)
                nodes.Add(await StartScriptedNodeAsync(id, brokers[id], async (context, transport, _) =>
                {
                    var global = await transport.UnpackAsync(context.Message.GlobalWeights, context.CancellationToken);
                    globals[id] = global;
                    // After the impostor's forgeries: had they counted, this genuine update would be a duplicate.
                    await Task.Delay(TimeSpan.FromSeconds(3), context.CancellationToken);
                    await PublishShiftedAsync(context, transport, global, id, shift, examples);
                }));

            nodes.Add(await StartScriptedNodeAsync(impostor, brokers[impostor], async (context, transport, services) =>
            {
                var m = context.Message;
                var global = await transport.UnpackAsync(m.GlobalWeights, context.CancellationToken);
                // The honest nodes' ids are no secret (host names, say); the chunks claim the victim too (a transfer of the
                // impostor's own would not be the victim's).
                foreach (var victim in honest.Keys)
                    await PublishShiftedAsync(context, new WeightTransport(new BrokerClaimCheckStore(services.GetRequiredService<IBus>, victim), new WeightTransportOptions()),
                        global, victim, 10f, 1000);
                await context.Publish(new TrainingDeclined { FederationId = m.FederationId, RoundId = m.RoundId, Round = m.Round, WorkerId = m.WorkerId, Reason = "busy forging" });
            }));

            foreach (var (id, attack) in new[] { (tamperer, ChunkAttack.Tamper), (duplicator, ChunkAttack.Duplicate) })
                nodes.Add(await StartScriptedNodeAsync(id, brokers[id], async (context, transport, _) =>
                    await PublishShiftedAsync(context, transport, await transport.UnpackAsync(context.Message.GlobalWeights, context.CancellationToken), id, 20f, 1000),
                    sp => new HostileChunkStore(new BrokerClaimCheckStore(sp.GetRequiredService<IBus>, id), sp.GetRequiredService<IBus>, id, attack)));

            nodes.Add(await StartScriptedNodeAsync(revoked, brokers[revoked], async (context, transport, _) =>
            {
                var m = context.Message;
                var global = await transport.UnpackAsync(m.GlobalWeights, context.CancellationToken);
                foreach (var tensor in global.Tensors)
                    TensorPrimitives.Add(tensor.Data, 30f, tensor.Data);
                // Its chunks go before the revocation; the update itself after it, as a stolen node's would.
                var weights = await transport.PackAsync(global, $"{m.FederationId:N}:update:{m.Round}:{m.WorkerId}", context.CancellationToken);
                revokedSelected.TrySetResult();
                // Not cancelled with the consumer: the revocation closes its connection, and the stolen node publishes anyway.
                await revocationDone.Task.WaitAsync(TimeSpan.FromMinutes(2));
                using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                try
                {
                    await context.Publish(Scripted(m, m.WorkerId, weights, 1000), patience.Token);
                    revokedPublish.TrySetResult("published");
                }
                catch (Exception e)
                {
                    revokedPublish.TrySetResult($"refused: {e.GetType().Name}: {e.Message}");
                }
            }));

            foreach (var id in brokers.Keys)
                await WaitForRegistryAsync(id, w => w is { Stopped: false }, TimeSpan.FromSeconds(30), $"{id} alive");

            // The phantom, beating in the impostor's connection with the points an honest node reports (so it would be ready).
            var points = (await WaitForRegistryAsync(h1, w => w is not null, TimeSpan.FromSeconds(5), h1))!.DataPoints;
            var impostorBus = nodes[2].Services.GetRequiredService<IBus>();
            phantomBeats = Task.Run(async () =>
            {
                while (!stopPhantom.IsCancellationRequested)
                {
                    await impostorBus.Publish(new WorkerHeartbeat
                    {
                        WorkerId = phantom, Host = "nowhere", DataPoints = points.ToDictionary(), Timestamp = DateTimeOffset.UtcNow, IntervalSeconds = 1,
                    });
                    await Task.Delay(500, CancellationToken.None);
                }
            });
            await Task.Delay(TimeSpan.FromSeconds(2));

            using var observer = await StartFederationObserverAsync("icosfl-test-aggregate-observer", completed, finished, failed);
            var federation = Guid.NewGuid();
            await observer.Services.GetRequiredService<IBus>().Publish(new StartFederation
            {
                FederationId = federation, RequestedBy = "test", RunConfigText = ScriptedModel,
            });

            await revokedSelected.Task.WaitAsync(TimeSpan.FromSeconds(60));
            var revocation = await CliAsync("node", "revoke", revoked, "--broker", _definitions.AdminUri.ToString(), "--management", servers.ManagementUri.ToString());
            Assert.True(revocation.Exit == 0, revocation.Stderr);
            revocationDone.TrySetResult();

            await finished.WaitUntilAsync(f => f.Any(m => m.FederationId == federation) || failed.Messages.Count > 0, TimeSpan.FromMinutes(3),
                "the federation to end");
            Assert.Empty(failed.Messages.Select(f => f.Reason));
            var round = completed.Messages.Single(r => r.FederationId == federation);
            output.WriteLine($"round {round.Round}: participants {string.Join(", ", round.Participants)}; rejected {string.Join("; ", round.Rejected.Select(r => $"{r.WorkerId}: {r.Reason}"))}; "
                + $"the revoked node's update: {await revokedPublish.Task.WaitAsync(TimeSpan.FromSeconds(30))}; {round.DurationMs:0} ms");

            // Every attack checked, each failure named, so a run with one protection removed shows which attacks got through.
            var problems = new List<string>();
            var selected = (await controller.Services.GetRequiredService<IRoundLedger>().ReadAsync(round.RoundId, RoundPhase.Training))!.Expected;
            if (selected != brokers.Count)
                problems.Add($"phantom: {selected} workers selected, not the {brokers.Count} enrolled nodes: {phantom} (heartbeats only, in the impostor's connection) counted as live");
            if (!round.Participants.Order().SequenceEqual(honest.Keys.Order()))
                problems.Add($"participants: {string.Join(", ", round.Participants)}, not exactly the honest {h1}, {h2}");

            // FedAvg of exactly the honest updates, in the controller's arithmetic and in the order it took them.
            var global = globals[h1];
            Assert.Equal(global.Tensors.SelectMany(t => t.Data), globals[h2].Tensors.SelectMany(t => t.Data));
            var updates = honest.ToDictionary(h => h.Key, h => Shifted(global, h.Value.Shift));
            var order = round.Participants.Where(updates.ContainsKey).ToList();
            var expected = Aggregation.WeightedAverage([.. order.Select(w => updates[w])], [.. order.Select(w => (double)honest[w].Examples)]);
            var transport = new WeightTransport(new RedisClaimCheckStore(_redis), new WeightTransportOptions());
            var aggregated = await transport.UnpackAsync(round.GlobalWeights);
            Assert.Equal(expected.Tensors.Select(t => t.Name), aggregated.Tensors.Select(t => t.Name));
            var differing = 0;
            var first = "";
            for (var t = 0; t < expected.Tensors.Count; t++)
                for (var i = 0; i < expected.Tensors[t].Data.Length; i++)
                    if (BitConverter.SingleToInt32Bits(expected.Tensors[t].Data[i]) != BitConverter.SingleToInt32Bits(aggregated.Tensors[t].Data[i]) && differing++ == 0)
                        first = $"{expected.Tensors[t].Name}[{i}] is {aggregated.Tensors[t].Data[i]:R}, FedAvg of the honest updates gives {expected.Tensors[t].Data[i]:R}";
            if (differing > 0)
                problems.Add($"aggregate: {differing} of {expected.Tensors.Sum(t => t.Data.Length)} values differ from FedAvg of exactly the honest updates; first {first}");

            // The reasons, each naming the attack.
            var impostorUser = BrokerIdentity.NodeUser(impostor);
            foreach (var victim in honest.Keys)
                if (!_log.Lines.Any(l => l.Contains($"WeightUpdateSubmitted claiming worker {victim} rejected: authenticated broker user {impostorUser}", StringComparison.Ordinal)))
                    problems.Add($"impostor: no rejection of its update in {victim}'s name");
            if (!_log.Lines.Any(l => l.Contains($"WorkerHeartbeat claiming worker {phantom} rejected: authenticated broker user {impostorUser}", StringComparison.Ordinal)))
                problems.Add("phantom: no rejection of its heartbeats");
            if (!_log.Lines.Any(l => l.Contains($"update from {tamperer} rejected: chunk 2 of transfer ", StringComparison.Ordinal) && l.Contains("digest mismatch", StringComparison.Ordinal)))
                problems.Add("tamperer: its update not rejected for the digest");
            if (!_log.Lines.Any(l => l.Contains($"update from {duplicator} rejected: chunk 0 of transfer ", StringComparison.Ordinal) && l.Contains("arrived twice (duplicate)", StringComparison.Ordinal)))
                problems.Add("duplicator: its update not rejected for the duplicate chunk");
            Assert.Empty(problems);

            // Each within the shifts' mean of the global model, too: the exact check is not a check of the arithmetic against itself only.
            var meanShift = honest.Values.Sum(h => h.Shift * h.Examples) / honest.Values.Sum(h => h.Examples);
            Assert.All(Enumerable.Range(0, aggregated.Tensors.Count), t =>
                Assert.Equal(global.Tensors[t].Data.Max() + meanShift, aggregated.Tensors[t].Data.Max(), 1e-5f));
        }
        finally
        {
            await stopPhantom.CancelAsync();
            await phantomBeats;
            revocationDone.TrySetResult();
            foreach (var node in nodes)
            {
                using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                await node.StopAsync(stop.Token);
                node.Dispose();
            }
            await controller.StopAsync();
        }
    }

    private static ModelWeights Shifted(ModelWeights global, float shift) =>
        new([.. global.Tensors.Select(t =>
        {
            var data = t.Data.ToArray();
            TensorPrimitives.Add(data, shift, data);
            return t with { Data = data };
        })]);

    private static async Task PublishShiftedAsync(ConsumeContext<RoundStarted> context, WeightTransport transport, ModelWeights global, string workerId, float shift, int examples)
    {
        var m = context.Message;
        var weights = await transport.PackAsync(Shifted(global, shift), $"{m.FederationId:N}:update:{m.Round}:{workerId}", context.CancellationToken);
        await context.Publish(Scripted(m, workerId, weights, examples), context.CancellationToken);
    }

    private static WeightUpdateSubmitted Scripted(RoundStarted round, string workerId, WeightsPayload weights, int examples) => new()
    {
        FederationId = round.FederationId, RoundId = round.RoundId, Round = round.Round, WorkerId = workerId,
        Weights = weights, NumExamples = examples, Metrics = new TrainMetrics(0.1, 1, 0),
    };

    /// <summary>
    /// An enrolled node hosted as <c>icosfl worker</c> hosts one (its own credentials stamped as user_id, heartbeats, its
    /// queue bound by worker id, payloads as chunk messages), whose training is <paramref name="train"/> and whose
    /// evaluation reports what it fetched.
    /// </summary>
    private async Task<IHost> StartScriptedNodeAsync(string id, Uri broker, Func<ConsumeContext<RoundStarted>, WeightTransport, IServiceProvider, Task> train,
        Func<IServiceProvider, IClaimCheckStore>? store = null)
    {
        var node = new WorkerNode(new WorkerOptions { WorkerId = id, HeartbeatInterval = 1 }, new SyntheticNodeData(3, 300, 42));
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ToTestOutput(output, id);
        builder.Services.AddIcosFlWeightTransport(store ?? (sp => new BrokerClaimCheckStore(sp.GetRequiredService<IBus>, id)));
        builder.Services.AddIcosFlWorkers([node]);
        builder.Services.AddIcosFlBus(IcosFlTransport.RabbitMq(broker.ToString(), stampBrokerUser: true), configure: (context, cfg) =>
            cfg.ReceiveEndpoint(WorkerRegistration.EndpointName(id), e =>
            {
                var rabbit = (IRabbitMqReceiveEndpointConfigurator)e;
                rabbit.ConfigureConsumeTopology = false;
                rabbit.BindAddressedToWorker(id);
                var transport = context.GetRequiredService<WeightTransport>();
                e.Consumer(() => new ScriptedTrainer(train, transport, context));
                e.Consumer(() => new ScriptedEvaluator(transport));
            }));
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            o.WaitUntilStarted = true;
            o.StopTimeout = TimeSpan.FromSeconds(5);
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private sealed class ScriptedTrainer(Func<ConsumeContext<RoundStarted>, WeightTransport, IServiceProvider, Task> train, WeightTransport transport,
        IServiceProvider services) : IConsumer<RoundStarted>
    {
        public Task Consume(ConsumeContext<RoundStarted> context) => train(context, transport, services);
    }

    private sealed class ScriptedEvaluator(WeightTransport transport) : IConsumer<EvaluationRequested>
    {
        public async Task Consume(ConsumeContext<EvaluationRequested> context)
        {
            var m = context.Message;
            var weights = await transport.UnpackAsync(m.GlobalWeights, context.CancellationToken);
            await context.Publish(new EvaluationReported
            {
                FederationId = m.FederationId, RoundId = m.RoundId, Round = m.Round, WorkerId = m.WorkerId,
                Metrics = new EvaluationMetrics(20, 0.1, 0.316, 0.2, 0.2, 0.447, weights.Tensors.Count),
            });
        }
    }
}
