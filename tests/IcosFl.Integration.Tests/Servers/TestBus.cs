using IcosFl.Infrastructure.Messaging;
using IcosFl.Infrastructure.Scheduling;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace IcosFl.Integration.Tests.Servers;

public enum BusTransport
{
    InMemory,
    RabbitMq,
}

/// <summary>
/// A host with one MassTransit bus, as a controller process would run it: Redis from the test
/// servers, the bus started before <see cref="StartAsync"/> returns, hosted services (the scheduler's
/// dispatcher) running until the host stops.
/// </summary>
public static class TestBus
{
    public static async Task<IHost> StartAsync(TestServers servers, BusTransport transport, Action<IBusRegistrationConfigurator> configure,
        bool useRedisScheduler = false, string? endpointPrefix = null, Action<IServiceCollection>? services = null,
        Action<IBusFactoryConfigurator>? bus = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging();
        builder.Services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(servers.RedisConfiguration));
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            o.WaitUntilStarted = true;
            o.StopTimeout = TimeSpan.FromSeconds(10);
        });
        services?.Invoke(builder.Services);

        builder.Services.AddMassTransit(x =>
        {
            configure(x);
            var formatter = new KebabCaseEndpointNameFormatter(endpointPrefix, false);

            switch (transport)
            {
                case BusTransport.InMemory:
                    x.UsingInMemory((context, cfg) =>
                    {
                        if (useRedisScheduler)
                            cfg.UseRedisMessageScheduler(context);
                        bus?.Invoke(cfg);
                        cfg.ConfigureEndpoints(context, formatter);
                    });
                    break;
                case BusTransport.RabbitMq:
                    x.UsingRabbitMq((context, cfg) =>
                    {
                        cfg.Host(servers.BrokerUri);
                        if (useRedisScheduler)
                            cfg.UseRedisMessageScheduler(context);
                        bus?.Invoke(cfg);
                        cfg.ConfigureEndpoints(context, formatter);
                    });
                    break;
            }
        });

        var host = builder.Build();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await host.StartAsync(timeout.Token);
        return host;
    }

    /// <summary>
    /// A bus configured as every IcosFl process configures RabbitMQ (<see cref="RabbitMqTopology.UseIcosFlTopology"/>),
    /// on <paramref name="broker"/> (a vhost and user of the test's choosing), with the consumers that
    /// <paramref name="consumers"/> registers on one receive endpoint named <paramref name="queue"/>.
    /// </summary>
    public static async Task<IHost> StartOnRabbitMqAsync(Uri broker, string queue, Action<IBusRegistrationConfigurator> consumers,
        Action<IServiceCollection>? services = null, Action<ILoggingBuilder>? logging = null)
    {
        var builder = Host.CreateApplicationBuilder();
        logging?.Invoke(builder.Logging);
        services?.Invoke(builder.Services);
        builder.Services.AddMassTransit(x =>
        {
            consumers(x);
            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(broker);
                cfg.UseIcosFlTopology();
                cfg.ReceiveEndpoint(queue, e => e.ConfigureConsumers(context));
            });
        });
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o => o.WaitUntilStarted = true);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>Stops the host like a process shutting down, then releases it.</summary>
    public static async Task StopAsync(this IHost host)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StopAsync(timeout.Token);
        host.Dispose();
    }
}
