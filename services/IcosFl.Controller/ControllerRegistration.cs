using IcosFl.Controller.Checkpoints;
using IcosFl.Controller.Federations;
using IcosFl.Controller.Payloads;
using IcosFl.Controller.Rounds;
using IcosFl.Controller.Sagas;
using IcosFl.Controller.Strategies;
using IcosFl.Controller.Workers;
using IcosFl.Infrastructure.Messaging;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace IcosFl.Controller;

public static class ControllerRegistration
{
    /// <summary>
    /// The controller's sagas and consumers. The saga repository, the scheduler and the transport are
    /// the host's choice (in memory when embedded; Redis and RabbitMQ when deployed).
    /// </summary>
    public static IBusRegistrationConfigurator AddIcosFlController(this IBusRegistrationConfigurator x)
    {
        x.AddSagaStateMachine<FederationStateMachine, FederationState, FederationStateDefinition>();
        x.AddSagaStateMachine<RoundStateMachine, RoundState, RoundStateDefinition>();
        x.AddConsumer<StartFederationConsumer, StartFederationConsumerDefinition>();
        x.AddConsumer<HeartbeatConsumer, HeartbeatConsumerDefinition>();
        x.AddConsumer<AggregateRoundConsumer>();
        x.AddConsumer<RoundAnswerConsumer, RoundAnswerConsumerDefinition>();
        // On its chunk shards' endpoints (UseIcosFlWeightChunkEndpoints), not on one of its own.
        x.AddConsumer<WeightChunkConsumer>().ExcludeFromConfigureEndpoints();
        x.AddConsumer<WeightChunkRequestConsumer, WeightChunkRequestConsumerDefinition>();
        return x;
    }

    /// <summary>
    /// The worker-identity check (<see cref="WorkerIdentityFilter{T}"/>) on every endpoint of the bus: call it in the
    /// transport configuration of every controller host. It reads <see cref="ControllerOptions.WorkerAuthentication"/>.
    /// </summary>
    public static void UseIcosFlWorkerIdentity(this IBusFactoryConfigurator cfg, IRegistrationContext context) =>
        cfg.UseConsumeFilter(typeof(WorkerIdentityFilter<>), context);

    /// <summary>The controller's endpoints of workers' update chunks, one per shard (RabbitMQ only: the embedded mode has no chunks).</summary>
    public static void UseIcosFlWeightChunkEndpoints(this IRabbitMqBusFactoryConfigurator cfg, IRegistrationContext context) =>
        cfg.WeightChunkEndpoints(e => e.ConfigureConsumer<WeightChunkConsumer>(context));

    /// <summary>Services the controller's activities and consumers need, with in-memory defaults.</summary>
    public static IServiceCollection AddIcosFlControllerServices(this IServiceCollection services, ControllerOptions options)
    {
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IWorkerRegistry, InMemoryWorkerRegistry>();
        services.TryAddSingleton<HeartbeatThrottle>();
        // Hosts with a checkpoint folder register a FileCheckpointStore before this; the rest keep checkpoints in memory.
        services.TryAddSingleton<ICheckpointStore, InMemoryCheckpointStore>();
        // Deployed hosts register a RedisRoundLedger before this.
        services.TryAddSingleton<IRoundLedger>(sp => new InMemoryRoundLedger(sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<ChunkedUploads>();
        services.TryAddSingleton<IStrategyProvider, ConfiguredStrategies>();
        services.AddScoped<GlobalModelRecovery>();
        services.AddScoped<InitializeFederationActivity>();
        services.AddScoped<OpenRoundActivity>();
        services.AddScoped<GiveUpOnOfflineWorkersActivity>();
        return services;
    }
}
