using IcosFl.Controller.Checkpoints;
using IcosFl.Controller.Rounds;
using IcosFl.Controller.Workers;
using IcosFl.Infrastructure.Hosting;
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
    /// registry and the rounds' ledgers in Redis (<paramref name="redis"/>), claim-check payloads in the
    /// payload Redis (<paramref name="payloadRedis"/>, or <paramref name="redis"/> when null), messages over
    /// RabbitMQ. A restarted controller finds everything where it left it, except payloads lost with a
    /// payload Redis restart, which cost the round in flight a retry. Workers' messages are believed only from their
    /// own broker users (<see cref="ControllerOptions.WorkerAuthentication"/> must be Broker here). Checkpoints go to
    /// <paramref name="checkpoints"/> (in memory when null). The bus is <see cref="IcosFlBus.AddIcosFlBus"/>'s.
    /// </summary>
    public static IServiceCollection AddDeployedController(this IServiceCollection services, ConnectionSettings settings,
        IConnectionMultiplexer redis, ControllerOptions options, INodeDataSource ownData, IConnectionMultiplexer? payloadRedis = null,
        ICheckpointStore? checkpoints = null)
    {
        if (payloadRedis is null && settings.PayloadRedisIsSeparate)
            throw new ArgumentException(
                $"the settings name a payload Redis of its own ({settings.PayloadRedisForDisplay}) but no connection to it was given", nameof(payloadRedis));
        if (options.WorkerAuthentication != WorkerAuthentication.Broker)
            throw new ArgumentException("a deployed controller checks workers' broker users: WorkerAuthentication must be Broker", nameof(options));
        var payloads = payloadRedis ?? redis;
        services.AddSingleton(redis);
        services.AddKeyedSingleton(RedisConnections.PayloadsServiceKey, payloads);
        services.AddSingleton<IWorkerRegistry>(new RedisWorkerRegistry(redis));
        services.AddSingleton<IRoundLedger>(new RedisRoundLedger(redis));
        services.AddIcosFlWeightTransport(_ => new RedisClaimCheckStore(payloads));
        services.AddSingleton(ownData);
        if (checkpoints is not null)
            services.AddSingleton(checkpoints);
        services.AddIcosFlControllerServices(options);
        services.AddIcosFlTracing();
        services.AddIcosFlBus(IcosFlTransport.RabbitMq(settings.Broker),
            x =>
            {
                // Sagas are never finalized: finished federations and rounds stay readable for status and ls.
                x.SetRedisSagaRepositoryProvider(o => o.KeyPrefix = "icosfl:");
                var idlePoll = RedisMessageSchedulerOptions.IdlePollFromEnvironment();
                x.AddRedisMessageScheduler(o => o.IdlePollInterval = idlePoll);
                x.AddIcosFlController();
            },
            (context, cfg) =>
            {
                cfg.UseRedisMessageScheduler(context);
                cfg.UseIcosFlWorkerIdentity(context);
            },
            (context, rabbit) => rabbit.UseIcosFlWeightChunkEndpoints(context));
        return services;
    }
}
