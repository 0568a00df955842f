using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StackExchange.Redis;

namespace IcosFl.Infrastructure.Scheduling;

/// <summary>
/// A durable message scheduler on Redis, for saga <c>Schedule(...)</c> timeouts where the broker has
/// no delayed-message plugin. Register in the process that hosts the sagas (the controller):
/// <code>
/// services.AddSingleton&lt;IConnectionMultiplexer&gt;(...);
/// services.AddIcosFlBus(IcosFlTransport.RabbitMq(broker),
///     x => x.AddRedisMessageScheduler(),                          // consumer on queue:icosfl-scheduler, poller, IMessageScheduler
///     (context, cfg) => cfg.UseRedisMessageScheduler(context));  // sagas' Schedule/Unschedule go to that queue
/// </code>
/// (as the deployed controller does, ControllerHosting.AddDeployedController).
/// Another process that only schedules (hosts no poller) calls <c>x.AddMessageScheduler(new Uri("queue:icosfl-scheduler"))</c>
/// and <c>cfg.UseMessageScheduler(...)</c> with the same address.
/// </summary>
public static class RedisMessageSchedulerRegistrationExtensions
{
    public static IBusRegistrationConfigurator AddRedisMessageScheduler(this IBusRegistrationConfigurator configurator,
        Action<RedisMessageSchedulerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configurator);
        var options = new RedisMessageSchedulerOptions();
        configure?.Invoke(options);
        options.Validate();

        configurator.TryAddSingleton(options);
        configurator.TryAddSingleton(provider => new ScheduledMessageStore(provider.GetRequiredService<IConnectionMultiplexer>(), options));
        // A Redis blip must not lose a saga's timeout: retry storing it for about half a minute.
        configurator.AddConsumer<ScheduleMessageConsumer>(consumer =>
                consumer.UseMessageRetry(r => r.Intervals(100, 500, 1000, 2000, 5000, 10000, 15000)))
            .Endpoint(endpoint => endpoint.Name = options.QueueName);
        configurator.AddMessageScheduler(options.SchedulerAddress);
        configurator.AddHostedService(provider => new ScheduledMessageDispatcher(
            provider.GetRequiredService<ScheduledMessageStore>(),
            provider.GetRequiredService<IBus>(),
            options,
            provider.GetRequiredService<Microsoft.Extensions.Logging.ILogger<ScheduledMessageDispatcher>>(),
            provider.GetService<TimeProvider>()));
        return configurator;
    }

    /// <summary>Makes consumers and sagas on this bus schedule through the Redis scheduler's queue.</summary>
    public static void UseRedisMessageScheduler(this IBusFactoryConfigurator configurator, IBusRegistrationContext context)
    {
        ArgumentNullException.ThrowIfNull(configurator);
        ArgumentNullException.ThrowIfNull(context);
        var options = context.GetService<RedisMessageSchedulerOptions>()
            ?? throw new InvalidOperationException("UseRedisMessageScheduler needs x.AddRedisMessageScheduler() in AddMassTransit first.");
        configurator.UseMessageScheduler(options.SchedulerAddress);
    }
}
