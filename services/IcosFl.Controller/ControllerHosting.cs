using IcosFl.Controller.Rounds;
using IcosFl.Controller.Workers;
using IcosFl.Infrastructure.Logging;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Infrastructure.Redis;
using IcosFl.Infrastructure.Sagas;
using IcosFl.Infrastructure.Scheduling;
using IcosFl.Infrastructure.Weights;
using IcosFl.Learning.NodeData;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace IcosFl.Controller;

public static class ControllerHosting
{
    /// <summary>
    /// The deployed controller: sagas persisted in Redis, deadlines in the Redis scheduler, the worker
    /// registry, the rounds' ledgers and claim-check payloads in Redis, messages over RabbitMQ. A restarted controller finds
    /// everything where it left it.
    /// </summary>
    public static IServiceCollection AddDeployedController(this IServiceCollection services, ConnectionSettings settings,
        IConnectionMultiplexer redis, ControllerOptions options, INodeDataSource ownData)
    {
        services.AddSingleton(redis);
        services.AddSingleton<IWorkerRegistry>(new RedisWorkerRegistry(redis));
        services.AddSingleton<IRoundLedger>(new RedisRoundLedger(redis));
        services.AddIcosFlWeightTransport(new RedisClaimCheckStore(redis));
        services.AddSingleton(ownData);
        services.AddIcosFlControllerServices(options);
        services.AddIcosFlTracing();
        services.AddMassTransit(x =>
        {
            x.SetEndpointNameFormatter(new KebabCaseEndpointNameFormatter("icosfl", false));
            // Sagas are never finalized: finished federations and rounds stay readable for status and ls.
            x.SetRedisSagaRepositoryProvider(o => o.KeyPrefix = "icosfl:");
            x.AddRedisMessageScheduler();
            x.AddIcosFlController();
            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(new Uri(settings.Broker));
                cfg.UseIcosFlTopology();
                cfg.UseRedisMessageScheduler(context);
                cfg.ConfigureEndpoints(context);
            });
        });
        return services;
    }
}
