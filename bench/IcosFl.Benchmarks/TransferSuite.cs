using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using IcosFl.Contracts;
using IcosFl.Controller.Payloads;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Infrastructure.Redis;
using IcosFl.Infrastructure.Weights;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using StackExchange.Redis;

namespace IcosFl.Benchmarks;

/// <summary>
/// One weight update from pack to unpacked weights through IcosFl's real path (WeightCodec; above 1 MiB the worker's
/// 1 MiB chunk messages over RabbitMQ, stored by the controller's chunk consumer in its payload Redis; a MassTransit
/// WeightUpdateSubmitted over RabbitMQ; a consumer that waits for the transfer, as the controller's answer consumer
/// does, then unpacks and verifies from Redis), beside RabbitMQ.Client publishing the same bytes to a queue and a
/// consumer receiving them.
/// </summary>
public static class TransferSuite
{
    /// <summary>Updates sent at once in the throughput figure: a few workers finishing their round together.</summary>
    private const int InFlight = 4;

    public static async Task<SuiteResult> RunAsync(BenchServers servers, bool quick)
    {
        (int Bytes, int Repetitions, int Batches)[] sizes = quick
            ? [(1_000_000, 9, 7), (10_000_000, 3, 3), (100_000_000, 2, 2)]
            : [(1_000_000, 15, 15), (10_000_000, 9, 7), (100_000_000, 5, 4)];
        // The claim check goes to the payload Redis, as a deployed node's does (ICOSFL_PAYLOAD_REDIS).
        var redisOptions = ConfigurationOptions.Parse(servers.PayloadRedis);
        redisOptions.AllowAdmin = true; // INFO persistence, to report whether the append-only file is on
        using var redis = await ConnectionMultiplexer.ConnectAsync(redisOptions);
        var appendOnly = await AppendOnlyAsync(redis);
        using var store = new RedisClaimCheckStore(redis);
        // The controller's side: its payload Redis. The worker's side reaches only the broker (below, once the bus runs).
        var storeTransport = new WeightTransport(store, new WeightTransportOptions());
        // The same claim check with its chunks through StackExchange.Redis's multiplexer (as for TLS or Sentinel), the
        // baseline of the store's own connections.
        using var multiplexerStore = new RedisClaimCheckStore(redis, directChunkConnections: false);
        var multiplexerTransport = new WeightTransport(multiplexerStore, new WeightTransportOptions());
        var arrivals = new ConcurrentDictionary<Guid, TaskCompletionSource<(ModelWeights Weights, double UnpackMs, string ContentType, long ConsumedAt)>>();
        var queue = $"icosfl-bench-transfer-{Guid.NewGuid():N}";
        var transientQueue = $"icosfl-bench-transfer-transient-{Guid.NewGuid():N}";
        using var host = await StartBusAsync(servers, queue, transientQueue, store, storeTransport, arrivals);
        var bus = host.Services.GetRequiredService<IBus>();
        var transport = new WeightTransport(new BrokerClaimCheckStore(() => bus, BenchWorker), new WeightTransportOptions());
        // The diagnostic path: the same message, serializer and consumer, sent as a transient message to a non-durable
        // queue (as the bare raw baseline's), which IcosFl itself never does. Isolates what durability costs.
        var transient = await bus.GetSendEndpoint(new Uri($"queue:{transientQueue}?durable=false&autodelete=true"));

        await using var raw = await RawPipe.OpenAsync(servers.Broker, durable: false);
        await using var rawDurable = await RawPipe.OpenAsync(servers.Broker, durable: true);
        var rows = new List<IReadOnlyDictionary<string, object>>();
        var ratios = new List<double>();
        var aloneRatios = new List<double>();
        foreach (var (bytes, repetitions, batches) in sizes)
        {
            var model = Model(bytes / sizeof(float));
            List<double> packTimes = [], deliverTimes = [], unpackTimes = [], icosFl = [], rawTimes = [], rawDurableTimes = [], setTimes = [], getTimes = [];
            List<double> icosFlBatches = [], rawBatches = [], rawDurableBatches = [], transientBatches = [], claimCheckAlone = [], claimCheckBatches = [], multiplexerBatches = [];
            var wire = "";
            var claimChecked = bytes > new WeightTransportOptions().InlineThresholdBytes;
            var body = MemoryMarshal.AsBytes(model.Tensors[0].Data.AsSpan()).ToArray();

            // Packs and publishes one update; the task completes when the consumer has unpacked it.
            async Task<(WeightsPayload Payload, double PackMs, long PublishedAt, Task<(ModelWeights, double, string, long)> Arrival)> SendAsync(bool durable = true)
            {
                var round = Guid.NewGuid();
                var arrived = new TaskCompletionSource<(ModelWeights, double, string, long)>(TaskCreationOptions.RunContinuationsAsynchronously);
                arrivals[round] = arrived;
                var clock = Stopwatch.StartNew();
                var payload = await transport.PackAsync(model, $"bench:{round:N}");
                var packMs = clock.Elapsed.TotalMilliseconds;
                var publishedAt = Stopwatch.GetTimestamp();
                var update = new WeightUpdateSubmitted
                {
                    FederationId = Guid.Empty, RoundId = round, Round = 1, WorkerId = "bench", Weights = payload,
                    NumExamples = 1, Metrics = new TrainMetrics(0, 1, 0),
                };
                if (durable)
                    await bus.Publish(update);
                else
                    await transient.Send(update, context => context.Durable = false);
                return (payload, packMs, publishedAt, arrived.Task.WaitAsync(TimeSpan.FromMinutes(2)));
            }

            async Task CheckAndForgetAsync(WeightsPayload payload, ModelWeights weights)
            {
                if (weights.Tensors[0].Data.Length != model.Tensors[0].Data.Length)
                    throw new InvalidOperationException("transfer: the unpacked model has another shape");
                if (payload.ClaimCheckKey is { } key)
                    await store.DeleteAsync(StoredKey(key));
            }

            // Pack start to unpacked weights, one update alone; the claim-check entry is deleted after the clock stops.
            async Task<double> IcosFlOnceAsync()
            {
                var clock = Stopwatch.StartNew();
                var (payload, packMs, publishedAt, arrival) = await SendAsync();
                var (weights, unpackMs, contentType, consumedAt) = await arrival;
                var totalMs = clock.Elapsed.TotalMilliseconds;
                packTimes.Add(packMs);
                deliverTimes.Add(Stopwatch.GetElapsedTime(publishedAt, consumedAt).TotalMilliseconds);
                unpackTimes.Add(unpackMs);
                wire = contentType;
                await CheckAndForgetAsync(payload, weights);
                return totalMs;
            }

            // InFlight updates sent at once, as workers finishing together send them: first pack start to last unpacked.
            async Task<double> IcosFlBatchAsync(bool durable = true)
            {
                var clock = Stopwatch.StartNew();
                var sent = await Task.WhenAll(Enumerable.Range(0, InFlight).Select(_ => Task.Run(() => SendAsync(durable))));
                var arrived = await Task.WhenAll(sent.Select(s => s.Arrival));
                var totalMs = clock.Elapsed.TotalMilliseconds;
                for (var i = 0; i < sent.Length; i++)
                    await CheckAndForgetAsync(sent[i].Payload, arrived[i].Item1);
                return totalMs;
            }

            // The claim check without any message: n packs and unpacks through Redis at once (pack start to the last
            // unpacked), so that a row shows how the claim check alone scales with updates in flight.
            async Task<double> ClaimCheckOnlyAsync(int n, WeightTransport? through = null)
            {
                through ??= storeTransport;
                var clock = Stopwatch.StartNew();
                var payloads = await Task.WhenAll(Enumerable.Range(0, n).Select(_ => Task.Run(async () =>
                {
                    var payload = await through.PackAsync(model, $"bench:{Guid.NewGuid():N}");
                    return (payload, await through.UnpackAsync(payload));
                })));
                var totalMs = clock.Elapsed.TotalMilliseconds;
                foreach (var (payload, weights) in payloads)
                    await CheckAndForgetAsync(payload, weights);
                return totalMs;
            }

            async Task<double> RawOnceAsync(RawPipe pipe, int messages = 1)
            {
                var clock = Stopwatch.StartNew();
                await pipe.RoundTripAsync(body, messages);
                return clock.Elapsed.TotalMilliseconds;
            }

            // Unmeasured warm-ups of each until the JIT has settled (JitClock), then the three interleaved, so that the load
            // of a shared machine falls on IcosFl, the baseline and the ceiling alike. MassTransit, the serializer and the
            // codec are not precompiled, whereas RabbitMQ.Client's bare publish barely runs code of its own; a worker or
            // controller runs for hours: the steady state is what matters. The claim check's code first runs at 10 MB.
            var warmUps = await JitClock.WarmUpUntilSettledAsync($"transfer {bytes / 1e6:0} MB", bytes < 50_000_000 ? 30 : 2, async () =>
            {
                // Each warm-up at least half a second long: tiering happens in the background, some time after the calls.
                for (var clock = Stopwatch.StartNew(); clock.ElapsedMilliseconds < 500;)
                {
                    await IcosFlOnceAsync();
                    await RawOnceAsync(raw);
                    await RawOnceAsync(rawDurable);
                }
                await IcosFlBatchAsync();
                await IcosFlBatchAsync(durable: false);
                await RawOnceAsync(raw, InFlight);
                await RawOnceAsync(rawDurable, InFlight);
                if (claimChecked)
                {
                    await RedisCeilingOnceAsync(redis, body);
                    await ClaimCheckOnlyAsync(1);
                    await ClaimCheckOnlyAsync(InFlight);
                    await ClaimCheckOnlyAsync(InFlight, multiplexerTransport);
                }
            });
            var jit = JitClock.Start();
            packTimes.Clear();
            deliverTimes.Clear();
            unpackTimes.Clear();
            for (var i = 0; i < repetitions; i++)
            {
                icosFl.Add(await IcosFlOnceAsync());
                rawTimes.Add(await RawOnceAsync(raw));
                rawDurableTimes.Add(await RawOnceAsync(rawDurable));
                if (claimChecked)
                {
                    var (set, get) = await RedisCeilingOnceAsync(redis, body);
                    setTimes.Add(set);
                    getTimes.Add(get);
                }
            }
            for (var i = 0; i < batches; i++)
            {
                icosFlBatches.Add(await IcosFlBatchAsync());
                transientBatches.Add(await IcosFlBatchAsync(durable: false));
                rawBatches.Add(await RawOnceAsync(raw, InFlight));
                rawDurableBatches.Add(await RawOnceAsync(rawDurable, InFlight));
                if (claimChecked)
                {
                    claimCheckAlone.Add(await ClaimCheckOnlyAsync(1));
                    claimCheckBatches.Add(await ClaimCheckOnlyAsync(InFlight));
                    multiplexerBatches.Add(await ClaimCheckOnlyAsync(InFlight, multiplexerTransport));
                }
            }

            var jitMs = jit.Elapsed.TotalMilliseconds;
            var icosFlMs = Measure.Median(icosFl);
            var rawMs = Measure.Median(rawTimes);
            var rawDurableMs = Measure.Median(rawDurableTimes);
            var icosFlBatchMs = Measure.Median(icosFlBatches);
            var rawBatchMs = Measure.Median(rawBatches);
            var rawDurableBatchMs = Measure.Median(rawDurableBatches);
            var transientBatchMs = Measure.Median(transientBatches);
            var ratio = rawBatchMs / icosFlBatchMs;
            ratios.Add(ratio);
            aloneRatios.Add(rawMs / icosFlMs);
            var (setMs, getMs) = claimChecked ? (Measure.Median(setTimes), Measure.Median(getTimes)) : (0.0, 0.0);
            var (claimAloneMs, claimBatchMs) = claimChecked ? (Measure.Median(claimCheckAlone), Measure.Median(claimCheckBatches)) : (double.NaN, double.NaN);
            var multiplexerBatchMs = claimChecked ? Measure.Median(multiplexerBatches) : double.NaN;
            rows.Add(new Dictionary<string, object>
            {
                ["model_MB"] = bytes / 1e6,
                ["path"] = claimChecked ? "claim check" : "inline",
                ["in_flight"] = InFlight,
                ["icosfl_MB_per_s"] = InFlight * bytes / 1e6 / (icosFlBatchMs / 1000),
                ["raw_MB_per_s"] = InFlight * bytes / 1e6 / (rawBatchMs / 1000),
                ["throughput_ratio"] = ratio,
                ["raw_durable_MB_per_s"] = InFlight * bytes / 1e6 / (rawDurableBatchMs / 1000),
                ["throughput_ratio_vs_raw_durable"] = rawDurableBatchMs / icosFlBatchMs,
                ["raw_durable_vs_raw"] = rawBatchMs / rawDurableBatchMs,
                ["icosfl_transient_MB_per_s"] = InFlight * bytes / 1e6 / (transientBatchMs / 1000),
                ["transient_throughput_ratio"] = rawBatchMs / transientBatchMs,
                ["icosfl_alone_ms"] = icosFlMs,
                ["raw_alone_ms"] = rawMs,
                ["alone_ratio"] = rawMs / icosFlMs,
                ["raw_durable_alone_ms"] = rawDurableMs,
                ["alone_ratio_vs_raw_durable"] = rawDurableMs / icosFlMs,
                ["pack_ms"] = Measure.Median(packTimes),
                ["deliver_ms"] = Measure.Median(deliverTimes),
                ["unpack_ms"] = Measure.Median(unpackTimes),
                ["redis_set_ms"] = setMs,
                ["redis_get_ms"] = getMs,
                ["ceiling_ratio"] = claimChecked ? rawMs / (setMs + getMs) : double.NaN,
                // Pack + unpack through Redis, no message: one alone, InFlight at once, and how many times one alone the
                // latter takes (InFlight: no overlap at all; raw_batch / raw_alone is the same figure for raw).
                ["claim_check_only_alone_ms"] = claimAloneMs,
                ["claim_check_only_in_flight_ms"] = claimBatchMs,
                ["claim_check_only_in_flight_vs_alone"] = claimBatchMs / claimAloneMs,
                ["raw_in_flight_vs_alone"] = rawBatchMs / rawMs,
                // The same InFlight packs and unpacks with the chunks through the multiplexer, and how many times the
                // store's own connections (claim_check_connections) are faster.
                ["claim_check_only_multiplexer_in_flight_ms"] = multiplexerBatchMs,
                ["direct_connections_speedup"] = multiplexerBatchMs / claimBatchMs,
                ["claim_check_connections"] = claimChecked ? (store.UsesDirectConnections ? "direct" : "multiplexer") : "",
                ["runs"] = repetitions,
                ["batches"] = batches,
                ["claim_check_aof"] = claimChecked ? appendOnly : "",
                ["warmups"] = warmUps,
                ["jit_ms_while_measured"] = jitMs,
                ["message_content_type"] = wire,
            });
        }

        await host.StopAsync();
        var worst = ratios.Min();
        return new SuiteResult("transfer", rows, worst,
            $"lowest IcosFl / raw RabbitMQ.Client throughput over the model sizes, {InFlight} updates in flight (one update alone: lowest {aloneRatios.Min():0.###})",
            ">= 0.7", worst >= 0.7);
    }

    /// <summary>
    /// What StackExchange.Redis alone moves through the same Redis: the bytes as pipelined 1 MiB chunk
    /// SETs (with a time to live) and pipelined chunk reads into one pooled buffer, no codec, no checksum,
    /// no message. raw / (set + get) is the best ratio a Redis claim check could reach here.
    /// </summary>
    private static async Task<(double SetMs, double GetMs)> RedisCeilingOnceAsync(IConnectionMultiplexer redis, byte[] body)
    {
        const int Chunk = 1024 * 1024;
        var db = redis.GetDatabase();
        var count = (body.Length + Chunk - 1) / Chunk;
        var prefix = $"icosfl:bench:ceiling:{Guid.NewGuid():N}";
        var setting = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, count).Select(i =>
            db.StringSetAsync($"{prefix}:{i}", body.AsMemory(i * Chunk, Math.Min(Chunk, body.Length - i * Chunk)), TimeSpan.FromMinutes(5))));
        var setMs = setting.Elapsed.TotalMilliseconds;
        var getting = Stopwatch.StartNew();
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(body.Length);
        var reads = Enumerable.Range(0, count).Select(i => db.StringGetLeaseAsync($"{prefix}:{i}")).ToArray();
        for (var i = 0; i < count; i++)
        {
            using var lease = await reads[i];
            lease!.Span.CopyTo(buffer.AsSpan(i * Chunk));
        }
        System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        var getMs = getting.Elapsed.TotalMilliseconds;
        await db.KeyDeleteAsync(Enumerable.Range(0, count).Select(i => (RedisKey)$"{prefix}:{i}").ToArray());
        return (setMs, getMs);
    }

    /// <summary>"yes" when the Redis keeps an append-only file (every payload written to disk too), else "no".</summary>
    private static async Task<string> AppendOnlyAsync(IConnectionMultiplexer redis)
    {
        var persistence = await redis.GetServer(redis.GetEndPoints()[0]).InfoAsync("persistence");
        var enabled = persistence.SelectMany(g => g).FirstOrDefault(p => p.Key == "aof_enabled").Value;
        return enabled == "1" ? "yes" : enabled == "0" ? "no" : "?";
    }

    /// <summary>A weights-only model of the given float32 count in one tensor (values from a fixed seed).</summary>
    private static ModelWeights Model(int parameters)
    {
        var data = new float[parameters];
        var random = new Random(parameters);
        for (var i = 0; i < data.Length; i++)
            data[i] = (float)(random.NextDouble() - 0.5);
        return new ModelWeights([new NamedTensor("weights", [parameters], data)]);
    }

    /// <summary>The worker id of the bench's updates (its chunks are stored under the controller's key for it).</summary>
    private const string BenchWorker = "bench";

    /// <summary>Where the controller keeps a payload the bench's update names: its transfer's upload key, or the key itself.</summary>
    private static string StoredKey(string reference) =>
        BrokerClaimCheckStore.TransferOf(reference) is { } transfer ? ChunkedUploads.KeyOf(BenchWorker, transfer) : reference;

    private static async Task<IHost> StartBusAsync(BenchServers servers, string queue, string transientQueue, IClaimCheckStore store, WeightTransport transport,
        ConcurrentDictionary<Guid, TaskCompletionSource<(ModelWeights Weights, double UnpackMs, string ContentType, long ConsumedAt)>> arrivals)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.QuietOnStandardError();
        builder.Services.AddSingleton(transport).AddSingleton(arrivals);
        // The controller's chunk intake, exactly as deployed (ChunkedUploads behind WeightChunkConsumer, one chunk at a time).
        builder.Services.AddSingleton(store).AddSingleton(new WeightTransportOptions()).AddSingleton(TimeProvider.System).AddSingleton<ChunkedUploads>();
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o => o.WaitUntilStarted = true);
        builder.Services.AddMassTransit(x =>
        {
            x.AddConsumer<UnpackingConsumer>();
            x.AddConsumer<WeightChunkConsumer>();
            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(servers.Broker);
                cfg.UseIcosFlTopology(); // the weights wire format of every IcosFl process
                // As the controller's chunk shards (icosfl-weight-chunk-0..7): one chunk at a time each.
                cfg.WeightChunkEndpoints(e =>
                {
                    e.AutoDelete = true;
                    e.ConfigureConsumer<WeightChunkConsumer>(context);
                }, $"{queue}-chunks");
                cfg.ReceiveEndpoint(queue, e =>
                {
                    // Durable, as the controller's queue for updates is (the bench's own is removed when it stops);
                    // unpacking InFlight at once, as the aggregator reads its claim checks several at a time.
                    e.AutoDelete = true;
                    e.Durable = true;
                    e.PrefetchCount = 16;
                    e.ConcurrentMessageLimit = InFlight;
                    e.ConfigureConsumer<UnpackingConsumer>(context);
                });
                // The diagnostic transient path: only what is sent to it by name (no binding to the published type).
                cfg.ReceiveEndpoint(transientQueue, e =>
                {
                    e.AutoDelete = true;
                    e.Durable = false;
                    e.ConfigureConsumeTopology = false;
                    e.PrefetchCount = 16;
                    e.ConcurrentMessageLimit = InFlight;
                    e.ConfigureConsumer<UnpackingConsumer>(context);
                });
            });
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>The controller's answer consumer and aggregator in one: waits for the update's transfer, then unpacks it from Redis.</summary>
    public sealed class UnpackingConsumer(WeightTransport transport, ChunkedUploads uploads,
        ConcurrentDictionary<Guid, TaskCompletionSource<(ModelWeights Weights, double UnpackMs, string ContentType, long ConsumedAt)>> arrivals)
        : IConsumer<WeightUpdateSubmitted>
    {
        public async Task Consume(ConsumeContext<WeightUpdateSubmitted> context)
        {
            var consumedAt = Stopwatch.GetTimestamp();
            if (!arrivals.TryRemove(context.Message.RoundId, out var arrived))
                return; // another process's update on a shared vhost
            var unpacking = Stopwatch.StartNew();
            var payload = context.Message.Weights;
            if (BrokerClaimCheckStore.TransferOf(payload.ClaimCheckKey) is { } transfer)
            {
                var outcome = await uploads.WaitAsync(BenchWorker, transfer, TimeSpan.FromMinutes(2), context.CancellationToken);
                if (outcome.Problem is { } problem)
                    throw new InvalidOperationException($"transfer: {problem}");
                payload = payload with { ClaimCheckKey = StoredKey(payload.ClaimCheckKey!) };
            }

            var weights = await transport.UnpackAsync(payload, context.CancellationToken);
            arrived.SetResult((weights, unpacking.Elapsed.TotalMilliseconds, context.ReceiveContext.ContentType?.MediaType ?? "?", consumedAt));
        }
    }

    /// <summary>The baseline: RabbitMQ.Client 7 publishing bytes to a queue and consuming them (body copied out, as a consumer must).</summary>
    private sealed class RawPipe : IAsyncDisposable
    {
        private readonly IConnection _connection;
        private readonly IChannel _publish;
        private readonly IChannel _consume;
        private readonly string _queue;
        private TaskCompletionSource<int>? _arrived;
        private int _expected;
        private int _bodyLength;
        private bool _persistent;

        private RawPipe(IConnection connection, IChannel publish, IChannel consume, string queue)
        {
            (_connection, _publish, _consume, _queue) = (connection, publish, consume, queue);
        }

        /// <param name="durable">
        /// False: a transient message to a non-durable queue, no publisher confirm (the lightest RabbitMQ can do).
        /// True: what IcosFl's messages get: a persistent message to a durable queue, the publish awaiting the broker's confirm.
        /// </param>
        public static async Task<RawPipe> OpenAsync(Uri broker, bool durable)
        {
            // RabbitMQ.Client refuses bodies over 64 MiB unless told otherwise.
            var connection = await new ConnectionFactory { Uri = broker, MaxInboundMessageBodySize = 256 * 1024 * 1024 }.CreateConnectionAsync();
            var publish = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: durable,
                publisherConfirmationTrackingEnabled: durable));
            var consume = await connection.CreateChannelAsync();
            var queue = (await consume.QueueDeclareAsync($"icosfl-bench-raw-{Guid.NewGuid():N}", durable: durable, exclusive: !durable, autoDelete: true)).QueueName;
            await consume.BasicQosAsync(0, 16, false);
            var pipe = new RawPipe(connection, publish, consume, queue) { _persistent = durable };
            var consumer = new AsyncEventingBasicConsumer(consume);
            consumer.ReceivedAsync += async (_, delivery) =>
            {
                var copy = delivery.Body.ToArray();
                await consume.BasicAckAsync(delivery.DeliveryTag, false);
                if (copy.Length != pipe._bodyLength)
                    pipe._arrived?.TrySetException(new InvalidOperationException($"raw transfer: sent {pipe._bodyLength} bytes, received {copy.Length}"));
                else if (Interlocked.Decrement(ref pipe._expected) == 0)
                    pipe._arrived?.TrySetResult(copy.Length);
            };
            await consume.BasicConsumeAsync(queue, false, consumer);
            return pipe;
        }

        /// <summary>Publishes <paramref name="messages"/> copies of the body at once and waits until the consumer has them all.</summary>
        public async Task RoundTripAsync(byte[] body, int messages)
        {
            _bodyLength = body.Length;
            _expected = messages;
            _arrived = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            var properties = new BasicProperties { Persistent = _persistent };
            await Task.WhenAll(Enumerable.Range(0, messages).Select(_ => _publish.BasicPublishAsync("", _queue, false, properties, body).AsTask()));
            await _arrived.Task.WaitAsync(TimeSpan.FromMinutes(2));
        }

        public async ValueTask DisposeAsync()
        {
            await _publish.DisposeAsync();
            await _consume.DisposeAsync();
            await _connection.DisposeAsync();
        }
    }
}
