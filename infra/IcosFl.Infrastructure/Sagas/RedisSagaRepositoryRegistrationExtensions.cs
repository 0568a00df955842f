using MassTransit;
using MassTransit.Configuration;
using MassTransit.Saga;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StackExchange.Redis;

namespace IcosFl.Infrastructure.Sagas;

/// <summary>
/// Registers the Redis saga repository. The <see cref="IConnectionMultiplexer"/> comes from the
/// container (register it once, as a singleton).
/// <code>
/// x.AddSagaStateMachine&lt;FederationStateMachine, FederationState&gt;().RedisRepository(o =&gt; o.CompletedRetention = TimeSpan.FromDays(7));
/// x.SetRedisSagaRepositoryProvider(o =&gt; o.KeyPrefix = "icosfl:");   // every saga added afterwards
/// </code>
/// </summary>
public static class RedisSagaRepositoryRegistrationExtensions
{
    /// <summary>Keeps this saga's instances in Redis. Its state type must implement <see cref="ISagaVersion"/>.</summary>
    public static ISagaRegistrationConfigurator<TSaga> RedisRepository<TSaga>(this ISagaRegistrationConfigurator<TSaga> configurator,
        Action<RedisSagaRepositoryOptions>? configure = null)
        where TSaga : class, ISagaVersion
    {
        ArgumentNullException.ThrowIfNull(configurator);
        var options = new RedisSagaRepositoryOptions();
        configure?.Invoke(options);
        options.Validate();

        configurator.Repository(registration => Register(registration, options));
        return configurator;
    }

    /// <summary>
    /// Keeps every saga registered after this call (AddSagaStateMachine / AddSagaStateMachines) in
    /// Redis, unless that saga names another repository. Fails for a saga without <see cref="ISagaVersion"/>.
    /// </summary>
    public static void SetRedisSagaRepositoryProvider(this IRegistrationConfigurator configurator,
        Action<RedisSagaRepositoryOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configurator);
        var options = new RedisSagaRepositoryOptions();
        configure?.Invoke(options);
        options.Validate();

        configurator.SetSagaRepositoryProvider(new RedisSagaRepositoryRegistrationProvider(options));
    }

    internal static void Register<TSaga>(ISagaRepositoryRegistrationConfigurator<TSaga> registration, RedisSagaRepositoryOptions options)
        where TSaga : class, ISagaVersion
    {
        var own = options.Clone();
        registration.TryAddSingleton(provider => new RedisSagaStore<TSaga>(provider.GetRequiredService<IConnectionMultiplexer>(), own));
        registration.RegisterSagaRepository<TSaga, RedisSagaStore<TSaga>, SagaConsumeContextFactory<RedisSagaStore<TSaga>, TSaga>,
            RedisSagaRepositoryContextFactory<TSaga>>();
        registration.RegisterLoadSagaRepository<TSaga, RedisSagaRepositoryContextFactory<TSaga>>();
    }
}

/// <summary>Applies the Redis repository to sagas registered without an explicit repository.</summary>
public sealed class RedisSagaRepositoryRegistrationProvider : ISagaRepositoryRegistrationProvider
{
    readonly RedisSagaRepositoryOptions _options;

    public RedisSagaRepositoryRegistrationProvider(RedisSagaRepositoryOptions options)
    {
        _options = options;
    }

    public void Configure<TSaga>(ISagaRegistrationConfigurator<TSaga> configurator)
        where TSaga : class, ISaga
    {
        if (!typeof(ISagaVersion).IsAssignableFrom(typeof(TSaga)))
        {
            throw new InvalidOperationException(
                $"Saga state {typeof(TSaga).FullName} cannot be kept in Redis: it must implement ISagaVersion (an int Version property) "
                + "for optimistic concurrency.");
        }

        // TSaga is only known to be ISaga here; bind the ISagaVersion-constrained registration by reflection.
        typeof(RedisSagaRepositoryRegistrationProvider)
            .GetMethod(nameof(ConfigureVersioned), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(typeof(TSaga))
            .Invoke(null, [configurator, _options]);
    }

    static void ConfigureVersioned<TSaga>(ISagaRegistrationConfigurator<TSaga> configurator, RedisSagaRepositoryOptions options)
        where TSaga : class, ISagaVersion =>
        configurator.Repository(registration => RedisSagaRepositoryRegistrationExtensions.Register(registration, options));
}
