using IcosFl.Infrastructure.Messaging;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace IcosFl.Infrastructure.Hosting;

/// <summary>
/// The transport of an IcosFl bus: RabbitMQ for deployed processes (the controller, a worker, the CLI's publishing
/// commands), MassTransit's in-memory transport for the embedded simulation.
/// </summary>
public sealed class IcosFlTransport
{
    private IcosFlTransport(string? broker, bool stampsBrokerUser)
    {
        Broker = broker;
        StampsBrokerUser = stampsBrokerUser;
    }

    /// <summary>One process, no broker: the embedded simulation.</summary>
    public static IcosFlTransport InMemory { get; } = new(null, false);

    /// <summary>
    /// RabbitMQ at <paramref name="broker"/> (an amqp URI with credentials and vhost). With
    /// <paramref name="stampBrokerUser"/>, every message sent or published carries the URI's user as user_id, which
    /// RabbitMQ checks and the controller believes (<see cref="BrokerIdentity.UseBrokerUserId"/>): a worker's bus.
    /// </summary>
    public static IcosFlTransport RabbitMq(string broker, bool stampBrokerUser = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(broker);
        return new(broker, stampBrokerUser);
    }

    /// <summary>The broker URI; null for the in-memory transport.</summary>
    public string? Broker { get; }

    public bool StampsBrokerUser { get; }
}

public static class IcosFlBus
{
    /// <summary>
    /// The one place an IcosFl process configures its MassTransit bus. Every bus names its endpoints in kebab case
    /// with the icosfl prefix. On RabbitMQ it also gets: the broker with IcosFl's AMQP heartbeat
    /// (<see cref="RabbitMqTopology.IcosFlHost"/>), the direct exchanges that address one worker and the binary
    /// envelopes for weights (<see cref="RabbitMqTopology.UseIcosFlTopology"/>), and user_id stamping when the
    /// transport asks for it. <paramref name="register"/> adds the process's sagas, consumers, saga repository and
    /// scheduler; <paramref name="configure"/> its bus-wide filters and explicit receive endpoints (run before the
    /// registered ones are configured); <paramref name="configureRabbitMq"/> what only a RabbitMQ bus has (run after
    /// <paramref name="configure"/>; refused for the in-memory transport, where it would never run).
    /// </summary>
    public static IServiceCollection AddIcosFlBus(this IServiceCollection services, IcosFlTransport transport,
        Action<IBusRegistrationConfigurator>? register = null,
        Action<IBusRegistrationContext, IBusFactoryConfigurator>? configure = null,
        Action<IBusRegistrationContext, IRabbitMqBusFactoryConfigurator>? configureRabbitMq = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        if (StartupTrace.Enabled)
            services.AddBusObserver<StartupTrace.BusObserver>();
        if (configureRabbitMq is not null && transport.Broker is null)
            throw new ArgumentException("configureRabbitMq was given for the in-memory transport, which has no RabbitMQ configurator to give it",
                nameof(configureRabbitMq));
        services.AddMassTransit(x =>
        {
            x.SetEndpointNameFormatter(new KebabCaseEndpointNameFormatter("icosfl", false));
            register?.Invoke(x);
            if (transport.Broker is not { } broker)
            {
                x.UsingInMemory((context, cfg) =>
                {
                    configure?.Invoke(context, cfg);
                    cfg.ConfigureEndpoints(context);
                });
                return;
            }
            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.IcosFlHost(broker);
                cfg.UseIcosFlTopology();
                if (transport.StampsBrokerUser && BrokerIdentity.UserOf(broker) is { } user)
                    cfg.UseBrokerUserId(user);
                configure?.Invoke(context, cfg);
                configureRabbitMq?.Invoke(context, cfg);
                cfg.ConfigureEndpoints(context);
            });
        });
        return services;
    }

    /// <summary>
    /// A short-lived bus that only publishes (the CLI's start, stop and node revoke), configured by
    /// <see cref="AddIcosFlBus"/> like every other IcosFl bus; dispose it to stop it. It logs nothing.
    /// </summary>
    public static async Task<PublishingBus> StartPublishingBusAsync(string broker, CancellationToken cancellationToken)
    {
        var provider = new ServiceCollection()
            .AddLogging()
            .AddIcosFlBus(IcosFlTransport.RabbitMq(broker))
            .BuildServiceProvider();
        var bus = provider.GetRequiredService<IBusControl>();
        try
        {
            await bus.StartAsync(cancellationToken);
        }
        catch
        {
            await provider.DisposeAsync();
            throw;
        }
        return new PublishingBus(bus, provider);
    }
}

/// <summary>A started bus for publishing only; disposing stops it.</summary>
public sealed class PublishingBus(IBusControl bus, ServiceProvider provider) : IAsyncDisposable
{
    public IBus Bus => bus;

    public async ValueTask DisposeAsync()
    {
        try
        {
            await bus.StopAsync(CancellationToken.None);
        }
        finally
        {
            await provider.DisposeAsync();
        }
    }
}
