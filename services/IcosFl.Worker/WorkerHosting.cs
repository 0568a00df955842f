using IcosFl.Infrastructure.Hosting;
using IcosFl.Infrastructure.Logging;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Infrastructure.Redis;
using IcosFl.Infrastructure.Weights;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace IcosFl.Worker;

public static class WorkerHosting
{
    /// <summary>
    /// A deployed worker: its own queue on RabbitMQ (bound to the round-start and evaluation exchanges
    /// with its id as routing key), heartbeats, and Redis only for claim-check payloads of large models:
    /// <paramref name="payloadRedis"/> is the payload Redis (ICOSFL_PAYLOAD_REDIS, the saga Redis when
    /// unset). A worker reads and writes no saga state, so it needs no other Redis. Every message it sends carries
    /// the broker user of <see cref="ConnectionSettings.Broker"/> as user_id, which RabbitMQ checks and the controller
    /// believes (<see cref="BrokerIdentity"/>). The bus is <see cref="IcosFlBus.AddIcosFlBus"/>'s.
    /// </summary>
    public static IServiceCollection AddDeployedWorker(this IServiceCollection services, ConnectionSettings settings,
        IConnectionMultiplexer payloadRedis, WorkerNode node)
    {
        services.AddKeyedSingleton(RedisConnections.PayloadsServiceKey, payloadRedis);
        services.AddIcosFlWeightTransport(_ => new RedisClaimCheckStore(payloadRedis));
        services.AddIcosFlWorkers([node]);
        services.AddIcosFlTracing();
        services.AddIcosFlBus(IcosFlTransport.RabbitMq(settings.Broker, stampBrokerUser: true), configure: (context, cfg) =>
            cfg.ReceiveEndpoint(WorkerRegistration.EndpointName(node.WorkerId), e =>
            {
                // Training is CPU-bound: one round at a time per worker.
                e.PrefetchCount = 4;
                e.ConcurrentMessageLimit = 1;
                e.ConfigureWorkerEndpoint(context, node);
            }));
        return services;
    }
}
