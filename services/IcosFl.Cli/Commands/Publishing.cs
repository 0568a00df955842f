using IcosFl.Infrastructure.Messaging;
using MassTransit;

namespace IcosFl.Cli.Commands;

/// <summary>A short-lived bus for commands that only publish (start, stop).</summary>
public static class Publishing
{
    public static async Task PublishAsync<T>(ConnectionSettings settings, T message, CancellationToken ct) where T : class
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(new Uri(settings.Broker));
            cfg.UseIcosFlTopology();
        });
        using var startTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        startTimeout.CancelAfter(NodeStartup.ConnectTimeout);
        await bus.StartAsync(startTimeout.Token);
        try
        {
            await bus.Publish(message, ct);
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }
    }
}
