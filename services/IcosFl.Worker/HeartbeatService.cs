using IcosFl.Infrastructure.Hosting;
using IcosFl.Contracts;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IcosFl.Worker;

/// <summary>
/// Announces each hosted worker at start, every heartbeat-interval after that, and says goodbye on a
/// clean stop so the controller need not wait for the heartbeats to lapse.
/// </summary>
public sealed class HeartbeatService(IBus bus, IEnumerable<WorkerNode> nodes, TimeProvider clock, ILogger<HeartbeatService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var workers = nodes.ToList();
        if (workers.Count == 0)
            return;
        var interval = TimeSpan.FromSeconds(workers.Min(w => w.Options.HeartbeatInterval));
        using var timer = new PeriodicTimer(interval, clock);
        bool first = true;
        do
        {
            foreach (var node in workers)
            {
                // At most one interval per heartbeat: a publish whose confirm never comes (the broker went away under
                // it; RabbitMQ.Client can then wait for good) must not stop every later heartbeat.
                using var overdue = new CancellationTokenSource(interval, clock);
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, overdue.Token);
                try
                {
#pragma warning disable RS0030 // Not inside a consume: bounded by attempt.Token, one interval at most.
                    await bus.Publish(new WorkerHeartbeat
                    {
                        WorkerId = node.WorkerId,
                        Host = node.Options.Host,
                        DataPoints = node.Data.DataPoints(),
                        Timestamp = clock.GetUtcNow(),
                        IntervalSeconds = node.Options.HeartbeatInterval,
                    }, attempt.Token);
#pragma warning restore RS0030
                    if (first)
                        StartupTrace.Mark($"first heartbeat of {node.WorkerId} confirmed by the broker");
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    logger.LogWarning("Heartbeat of {WorkerId} was not confirmed by the broker within {Interval}; the next tick tries again",
                        node.WorkerId, interval);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The broker may be away for a while; the next tick tries again.
                    logger.LogWarning(e, "Heartbeat of {WorkerId} could not be published", node.WorkerId);
                }
            }
            first = false;
        }
        while (await WaitNext(timer, stoppingToken));
    }

    private static async Task<bool> WaitNext(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        foreach (var node in nodes)
        {
            try
            {
#pragma warning disable RS0030 // Not inside a consume: bounded by the host's shutdown timeout.
                await bus.Publish(new WorkerStopping { WorkerId = node.WorkerId, Timestamp = clock.GetUtcNow() }, cancellationToken);
#pragma warning restore RS0030
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Goodbye of {WorkerId} could not be published", node.WorkerId);
            }
        }
    }
}
