using IcosFl.Infrastructure.Hosting;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace IcosFl.Infrastructure.Tests.Hosting;

/// <summary>AddIcosFlBus's typed hook for what only a RabbitMQ bus has (the controller's weight-chunk endpoints).</summary>
public sealed class Configuring_a_rabbitmq_bus
{
    [Fact]
    public async Task Should_hand_the_rabbitmq_configurator_to_the_hook_when_the_bus_is_built()
    {
        IRabbitMqBusFactoryConfigurator? handed = null;
        await using var provider = new ServiceCollection()
            .AddLogging()
            // Port 1: nothing listens there, and nothing connects until the bus starts, which this test never does.
            .AddIcosFlBus(IcosFlTransport.RabbitMq("amqp://guest:guest@127.0.0.1:1/"), configureRabbitMq: (_, rabbit) => handed = rabbit)
            .BuildServiceProvider();

        provider.GetRequiredService<IBusControl>();

        Assert.NotNull(handed);
    }

    [Fact]
    public void Should_refuse_a_rabbitmq_hook_for_the_in_memory_transport_naming_it()
    {
        var e = Assert.Throws<ArgumentException>(() => new ServiceCollection()
            .AddIcosFlBus(IcosFlTransport.InMemory, configureRabbitMq: (_, _) => { }));

        Assert.Equal("configureRabbitMq", e.ParamName);
        Assert.Contains("in-memory transport", e.Message);
    }
}
