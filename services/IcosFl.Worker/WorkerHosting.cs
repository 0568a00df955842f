using IcosFl.Infrastructure.Hosting;
using IcosFl.Infrastructure.Logging;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Infrastructure.Weights;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace IcosFl.Worker;

public static class WorkerHosting
{
    /// <summary>
    /// A deployed worker: its own queue on RabbitMQ (bound to the round-start and evaluation exchanges
    /// with its id as routing key), heartbeats, and nothing but the broker (issue 16): large models come from the
    /// controller and go back to it as chunk messages (<see cref="BrokerClaimCheckStore"/>), so a worker host holds one
    /// address and one credential, and no Redis setting at all. Every message it sends carries
    /// the broker user of <see cref="ConnectionSettings.Broker"/> as user_id, which RabbitMQ checks and the controller
    /// believes (<see cref="BrokerIdentity"/>). The bus is <see cref="IcosFlBus.AddIcosFlBus"/>'s.
    /// </summary>
    public static IServiceCollection AddDeployedWorker(this IServiceCollection services, ConnectionSettings settings,
        WorkerNode node)
    {
        services.AddIcosFlWeightTransport(sp => new BrokerClaimCheckStore(sp.GetRequiredService<IBus>, node.WorkerId));
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
