using IcosFl.Contracts;
using MassTransit;
using RabbitMQ.Client;

namespace IcosFl.Infrastructure.Messaging;

/// <summary>
/// IcosFl's exchanges on RabbitMQ. Every message type has its own exchange (MassTransit's default),
/// so round-start, weight-update and heartbeat traffic are separate and visible in the management UI.
/// Round-start and evaluation requests carry global weights to one worker each: their exchanges are
/// topic exchanges, routed by the addressee's worker id (no wildcards: an id has none), so a worker that was not
/// selected never receives them, and an enrolled node's topic permission (<see cref="BrokerIdentity.NodeTopicPermissions"/>)
/// lets the broker refuse it a binding with any key but its own id.
/// Weight-carrying messages go as binary envelopes (<see cref="WeightsWire"/>, <see cref="WeightsWire.EnvironmentVariable"/>).
/// </summary>
public static class RabbitMqTopology
{
    /// <summary>The environment variable for the AMQP heartbeat, in seconds.</summary>
    public const string HeartbeatVariable = "ICOSFL_BROKER_HEARTBEAT";

    /// <summary>The AMQP heartbeat requested unless ICOSFL_BROKER_HEARTBEAT or the URI's heartbeat= says otherwise.</summary>
    public static readonly TimeSpan DefaultHeartbeat = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The broker of <paramref name="broker"/> (an amqp URI with credentials and vhost), with AMQP heartbeats every
    /// 10 s: a connection a network cut left half open is then found dead within about 20-30 s and reopened, where
    /// RabbitMQ's 60 s default took a worker host cut off for 60 s more than three minutes to come back (compose test).
    /// A <c>heartbeat=</c> in the URI's query, or ICOSFL_BROKER_HEARTBEAT (seconds), chooses another.
    /// </summary>
    /// <remarks>
    /// An <c>amqps://</c> URI connects over TLS as <see cref="BrokerTls"/> says (<paramref name="tls"/>, or the
    /// environment's ICOSFL_BROKER_CA / _CERT / _KEY): the broker's certificate checked against the CA, and with a client
    /// certificate and no user in the URI, RabbitMQ's EXTERNAL login as the certificate's common name.
    /// </remarks>
    public static void IcosFlHost(this IRabbitMqBusFactoryConfigurator cfg, string broker, BrokerTls? tls = null)
    {
        var uri = new Uri(broker);
        bool inUri = uri.Query.TrimStart('?').Split('&').Any(p => p.StartsWith("heartbeat=", StringComparison.OrdinalIgnoreCase));
        cfg.Host(uri, h =>
        {
            if (!inUri)
                h.Heartbeat(HeartbeatFromEnvironment());
            if (uri.Scheme == "amqps")
                h.UseIcosFlTls(uri, tls ?? BrokerTls.FromEnvironment());
        });
    }

    private static void UseIcosFlTls(this IRabbitMqHostConfigurator h, Uri uri, BrokerTls tls)
    {
        if (tls.Problem() is { } problem)
            throw new ArgumentException(problem);
        h.UseSsl(s =>
        {
            s.Protocol = BrokerTls.Protocols;
            s.ServerName = uri.Host;
            s.CertificateValidationCallback = (_, certificate, chain, errors) => tls.Judge(certificate, chain, errors) is null;
            if (tls.LoadClientCertificate() is { } client)
            {
                s.Certificate = client;
                s.UseCertificateAsAuthenticationIdentity = uri.UserInfo.Length == 0;
            }
        });
    }

    private static TimeSpan HeartbeatFromEnvironment()
    {
        var text = Environment.GetEnvironmentVariable(HeartbeatVariable);
        if (string.IsNullOrWhiteSpace(text))
            return DefaultHeartbeat;
        if (!ushort.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds))
            throw new ArgumentException($"{HeartbeatVariable} must be a whole number of seconds (0 = no heartbeats), got '{text}'");
        return TimeSpan.FromSeconds(seconds);
    }

    public static void UseIcosFlTopology(this IRabbitMqBusFactoryConfigurator cfg)
    {
        cfg.UseIcosFlWeightsWire(WeightsWire.FromEnvironment());
        cfg.Publish<RoundStarted>(p => p.ExchangeType = AddressedExchangeType);
        cfg.Send<RoundStarted>(s => s.UseRoutingKeyFormatter(ctx => ctx.Message.WorkerId));
        cfg.Publish<EvaluationRequested>(p => p.ExchangeType = AddressedExchangeType);
        cfg.Send<EvaluationRequested>(s => s.UseRoutingKeyFormatter(ctx => ctx.Message.WorkerId));
        // Update chunks: direct, routed by their transfer's shard, so each transfer's chunks stay in one queue, in order.
        cfg.Publish<WeightChunk>(p => p.ExchangeType = ExchangeType.Direct);
        cfg.Send<WeightChunk>(s => s.UseRoutingKeyFormatter(ctx => WeightChunkShard(ctx.Message.TransferId)));
    }

    /// <summary>
    /// Queues the controller takes workers' update chunks from (<c>icosfl-weight-chunk-0</c> to <c>-7</c>), each one chunk
    /// at a time in its order: one queue held 4 simultaneous 100 MB uploads to a third of raw RabbitMQ.Client's throughput,
    /// and taking one queue's chunks side by side reordered them. A transfer's chunks all go to the shard of its id.
    /// </summary>
    public const int WeightChunkShards = 8;

    /// <summary>The routing key (shard, "0" to "7") of a transfer's chunks: the first byte of its (random) id.</summary>
    public static string WeightChunkShard(Guid transferId)
    {
        Span<byte> bytes = stackalloc byte[16];
        transferId.TryWriteBytes(bytes);
        return (bytes[0] % WeightChunkShards).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The queue of chunk shard <paramref name="shard"/>.</summary>
    public static string WeightChunkQueue(int shard) => $"icosfl-weight-chunk-{shard}";

    /// <summary>
    /// One receive endpoint per chunk shard, bound to the chunk exchange with its routing key, one chunk at a time
    /// (the consumer must be excluded from ConfigureEndpoints). A few 1 MiB chunks prefetched per shard.
    /// </summary>
    public static void WeightChunkEndpoints(this IRabbitMqBusFactoryConfigurator cfg, Action<IRabbitMqReceiveEndpointConfigurator> consumer,
        string? queuePrefix = null)
    {
        for (var shard = 0; shard < WeightChunkShards; shard++)
        {
            var key = shard.ToString(System.Globalization.CultureInfo.InvariantCulture);
            cfg.ReceiveEndpoint(queuePrefix is null ? WeightChunkQueue(shard) : $"{queuePrefix}-{shard}", e =>
            {
                e.ConfigureConsumeTopology = false;
                e.Bind<WeightChunk>(b =>
                {
                    b.ExchangeType = ExchangeType.Direct;
                    b.RoutingKey = key;
                });
                e.PrefetchCount = 4;
                e.ConcurrentMessageLimit = 1;
                consumer(e);
            });
        }
    }

    /// <summary>
    /// The type of the exchanges addressed to one worker (RoundStarted, EvaluationRequested): topic, because RabbitMQ
    /// checks a binding's key against a user's topic permissions only on topic exchanges. A broker that still has them
    /// as direct exchanges (IcosFl before this) must have them deleted once (docs/deploying.md, "Upgrading").
    /// </summary>
    public const string AddressedExchangeType = ExchangeType.Topic;

    /// <summary>The exchanges that address one worker by its id as the routing key (MassTransit's entity names).</summary>
    public static readonly IReadOnlyList<string> AddressedExchanges = ["IcosFl.Contracts:RoundStarted", "IcosFl.Contracts:EvaluationRequested"];

    /// <summary>Binds a worker's queue to the addressed exchanges with its own id as routing key.</summary>
    public static void BindAddressedToWorker(this IRabbitMqReceiveEndpointConfigurator endpoint, string workerId)
    {
        endpoint.Bind<RoundStarted>(b =>
        {
            b.ExchangeType = AddressedExchangeType;
            b.RoutingKey = workerId;
        });
        endpoint.Bind<EvaluationRequested>(b =>
        {
            b.ExchangeType = AddressedExchangeType;
            b.RoutingKey = workerId;
        });
    }
}
