using System.Buffers;
using IcosFl.Contracts;
using IcosFl.Infrastructure.Weights;
using IcosFl.Integration.Tests.Servers;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace IcosFl.Integration.Tests.Broker;

/// <summary>
/// Issue 16 part 3 on the real broker: enrolled nodes whose updates are too large to travel inline send them as chunk
/// messages. Four hostile nodes (real workers: they fetch the model and train, only their chunk stream is broken) send
/// a tampered, a truncated, a reordered and a duplicated chunk; the controller rejects each naming the round, the worker
/// and the chunk, and the federation completes with the two honest nodes. A fifth names a key of the controller's store
/// (the global model it was sent) as its update instead of a transfer of its own, and is rejected too.
/// </summary>
public sealed partial class Enrolling_nodes
{
    // One LSTM layer of 300 units: 1.4 MB of float32, over the 1 MiB inline threshold: chunks 0 and 1, then the final message.
    private const string ChunkedModel = "num-server-rounds=1 hidden-layer-size=300 num-layers=1 local-epochs=1 min-fit-clients=2 "
        + "min-available-clients=7 fraction-fit=1 min-evaluate-clients=2 fraction-evaluate=1 round-timeout=300";

    public enum ChunkAttack
    {
        /// <summary>Chunk 1 with one byte flipped; the final message declares the honest digest.</summary>
        Tamper,

        /// <summary>Chunk 1 never sent; the final message says two chunks.</summary>
        Truncate,

        /// <summary>Chunk 1 before chunk 0.</summary>
        Reorder,

        /// <summary>Chunk 0 twice.</summary>
        Duplicate,

        /// <summary>No chunks: the update names a key of the controller's store (the global model it was sent).</summary>
        ForeignKey,
    }

    [Fact]
    public async Task A_tampered_truncated_reordered_or_duplicated_chunk_is_rejected_naming_round_worker_and_chunk_and_the_honest_nodes_complete()
    {
        var honest = new[] { NewId("honest"), NewId("honest") };
        var hostile = Enum.GetValues<ChunkAttack>().ToDictionary(a => a, a => NewId(a.ToString().ToLowerInvariant()));
        var brokers = new Dictionary<string, Uri>();
        foreach (var id in honest.Concat(hostile.Values))
            brokers[id] = await EnrolAsync(id);
        var completed = new MessageRecorder<RoundCompleted>();
        var finished = new MessageRecorder<FederationCompleted>();
        var failed = new MessageRecorder<FederationFailed>();
        using var controller = await StartControllerAsync();
        var workers = new List<IHost>();
        try
        {
            foreach (var id in honest)
                workers.Add(await StartWorkerAsync(id, brokers[id]));
            foreach (var (attack, id) in hostile)
                workers.Add(await StartHostileWorkerAsync(id, brokers[id], attack));
            foreach (var id in brokers.Keys)
                await WaitForRegistryAsync(id, w => w is { Stopped: false }, TimeSpan.FromSeconds(30), $"{id} alive");
            using var observer = await StartFederationObserverAsync("icosfl-test-chunks-observer", completed, finished, failed);

            var federation = Guid.NewGuid();
            await observer.Services.GetRequiredService<IBus>().Publish(new StartFederation
            {
                FederationId = federation, RequestedBy = "test", RunConfigText = ChunkedModel,
            });
            await finished.WaitUntilAsync(f => f.Any(m => m.FederationId == federation) || failed.Messages.Count > 0, TimeSpan.FromMinutes(4),
                "the federation to end");
            Assert.Empty(failed.Messages.Select(f => f.Reason));

            var round = completed.Messages.Single(r => r.FederationId == federation);
            Assert.Equal(honest.Order(), round.Participants.Order());
            Assert.True(round.GlobalWeights.Length > 1024 * 1024, $"global model of {round.GlobalWeights.Length} bytes: not chunked");
            var expected = new Dictionary<ChunkAttack, string>
            {
                [ChunkAttack.Tamper] = "chunk 2 of transfer {0} rejected: digest mismatch: the final message declares SHA-256 ",
                [ChunkAttack.Truncate] = "chunk 2 of transfer {0} rejected: the final message says 2 chunks were sent, only 1 arrived: chunk 1 is missing",
                [ChunkAttack.Reorder] = "chunk 1 of transfer {0} rejected: chunk 1 arrived when chunk 0 was expected: chunk 0 is missing or the chunks are out of order",
                [ChunkAttack.Duplicate] = "chunk 0 of transfer {0} rejected: chunk 0 arrived twice (duplicate): chunks 0 to 0 had already arrived",
            };
            foreach (var (attack, id) in hostile.Where(h => h.Key != ChunkAttack.ForeignKey))
            {
                var line = _log.Lines.SingleOrDefault(l => l.Contains($"round 1 ({round.RoundId}): update from {id} rejected: ", StringComparison.Ordinal));
                Assert.True(line is not null, $"no rejection of {attack} node {id}'s update in round 1");
                var transfer = line.Split("of transfer ")[1][..32];
                Assert.Contains(string.Format(System.Globalization.CultureInfo.InvariantCulture, expected[attack], transfer), line);
            }

            var foreign = hostile[ChunkAttack.ForeignKey];
            Assert.Contains(_log.Lines, l => l.Contains($"round 1 ({round.RoundId}): update from {foreign} rejected: its weights name claim-check key 'icosfl:weights:", StringComparison.Ordinal)
                && l.Contains(":global:0:", StringComparison.Ordinal) && l.Contains("not a transfer of its own chunks ('transfer:{id}')", StringComparison.Ordinal));
        }
        finally
        {
            foreach (var worker in workers)
            {
                await worker.StopAsync();
                worker.Dispose();
            }
            await controller.StopAsync();
        }
    }

    /// <summary>A real worker of an enrolled node (it fetches the global model and trains) whose chunk stream is broken.</summary>
    private Task<IHost> StartHostileWorkerAsync(string id, Uri broker, ChunkAttack attack) =>
        StartWorkerAsync(id, broker, replace: services => services.Replace(ServiceDescriptor.Singleton<IClaimCheckStore>(sp =>
            new HostileChunkStore(new BrokerClaimCheckStore(sp.GetRequiredService<IBus>, id), sp.GetRequiredService<IBus>, id, attack))));

    /// <summary>Downloads as an honest worker does; uploads the encoding whole, then publishes the broken chunk stream.</summary>
    private sealed class HostileChunkStore(BrokerClaimCheckStore honest, Func<IBus> bus, string workerId, ChunkAttack attack) : IClaimCheckStore
    {
        private Func<IBus> Bus { get; } = bus;
        private string WorkerId { get; } = workerId;
        private ChunkAttack Attack { get; } = attack;

        public Task PutAsync(string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default) => honest.GetAsync(key, cancellationToken);

        public Task<long?> StreamAsync(string key, Action<ReadOnlySpan<byte>> arrived, CancellationToken cancellationToken = default)
        {
            Downloaded = key;
            return honest.StreamAsync(key, arrived, cancellationToken);
        }

        /// <summary>The key of the last model this node fetched.</summary>
        private string? Downloaded { get; set; }

        public Task DeleteAsync(string key, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public IClaimCheckUpload BeginPut(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default) => new Upload(this, cancellationToken);

        private sealed class Upload(HostileChunkStore store, CancellationToken cancellationToken) : IClaimCheckUpload
        {
            private readonly Guid transferId = Guid.NewGuid();
            private readonly ArrayBufferWriter<byte> all = new();

            public string? Reference => store.Attack == ChunkAttack.ForeignKey ? store.Downloaded : BrokerClaimCheckStore.ReferenceOf(transferId);

            public Task AppendAsync(ReadOnlyMemory<byte> piece)
            {
                all.Write(piece.Span);
                return Task.CompletedTask;
            }

            public async Task CompleteAsync(CancellationToken completing = default)
            {
                if (store.Attack == ChunkAttack.ForeignKey)
                    return;
                var bytes = all.WrittenSpan.ToArray();
                var chunks = bytes.Chunk(WeightTransport.ChunkBytes).ToArray();
                Assert.Equal(2, chunks.Length);
                var flipped = chunks[1].ToArray();
                flipped[^1] ^= 0x01;
                (int Index, byte[] Bytes)[] sent = store.Attack switch
                {
                    ChunkAttack.Tamper => [(0, chunks[0]), (1, flipped)],
                    ChunkAttack.Truncate => [(0, chunks[0])],
                    ChunkAttack.Reorder => [(1, chunks[1]), (0, chunks[0])],
                    ChunkAttack.Duplicate => [(0, chunks[0]), (0, chunks[0]), (1, chunks[1])],
                    _ => throw new InvalidOperationException($"no chunks for {store.Attack}"),
                };
                foreach (var (index, chunk) in sent)
                    await Publish(new WeightChunk { TransferId = transferId, WorkerId = store.WorkerId, Index = index, Bytes = chunk });
                await Publish(new WeightChunk
                {
                    TransferId = transferId, WorkerId = store.WorkerId, Index = chunks.Length, Bytes = [], Last = true, Length = bytes.Length,
                    Digest = WeightTransport.Checksum(bytes),
                });
            }

            public Task AbortAsync() => Task.CompletedTask;

            private Task Publish(WeightChunk chunk) => store.Bus().Publish(chunk, cancellationToken);
        }
    }

    /// <summary>A bus on the admin user that records rounds completed and federations completed or failed.</summary>
    private Task<IHost> StartFederationObserverAsync(string queue, MessageRecorder<RoundCompleted> completed,
        MessageRecorder<FederationCompleted> finished, MessageRecorder<FederationFailed> failed) =>
        TestBus.StartOnRabbitMqAsync(_definitions.AdminUri, queue, x =>
            {
                x.AddConsumer<RecordingConsumer<RoundCompleted>>();
                x.AddConsumer<RecordingConsumer<FederationCompleted>>();
                x.AddConsumer<RecordingConsumer<FederationFailed>>();
            },
            services => services.AddSingleton(completed).AddSingleton(finished).AddSingleton(failed));
}
