using IcosFl.Contracts;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace IcosFl.Controller.Workers;

/// <summary>
/// Keeps the worker registry up to date from heartbeats, clean shutdowns and revocations. Who sent a heartbeat or
/// goodbye is checked before it gets here (<see cref="WorkerIdentityFilter{T}"/>); heartbeats faster than
/// <see cref="ControllerOptions.HeartbeatMinimumGap"/> are dropped (<see cref="HeartbeatThrottle"/>).
/// </summary>
public sealed class HeartbeatConsumer(IWorkerRegistry registry, HeartbeatThrottle throttle, ILogger<HeartbeatConsumer> logger) :
    IConsumer<WorkerHeartbeat>,
    IConsumer<WorkerStopping>,
    IConsumer<NodeRevoked>
{
    public async Task Consume(ConsumeContext<WorkerHeartbeat> context)
    {
        var heartbeat = context.Message;
        if (string.IsNullOrWhiteSpace(heartbeat.WorkerId))
        {
            logger.LogWarning("Heartbeat without a worker id from {Host} ignored", heartbeat.Host);
            return;
        }
        if (!throttle.TryAccept(heartbeat.WorkerId, out var dropped))
        {
            if (dropped > 0)
                logger.LogWarning("Worker {WorkerId} sent {Dropped} heartbeats in the last minute less than {Gap} ms after the one before: not recorded",
                    heartbeat.WorkerId, dropped, throttle.Gap.TotalMilliseconds);
            return;
        }
        await registry.RecordHeartbeatAsync(heartbeat, context.CancellationToken);
        logger.LogDebug("Heartbeat from {WorkerId} on {Host}", heartbeat.WorkerId, heartbeat.Host);
    }

    public async Task Consume(ConsumeContext<WorkerStopping> context)
    {
        await registry.RecordStoppingAsync(context.Message.WorkerId, context.Message.Timestamp, context.CancellationToken);
        logger.LogInformation("Worker {WorkerId} is stopping", context.Message.WorkerId);
    }

    public async Task Consume(ConsumeContext<NodeRevoked> context)
    {
        // Stopped from the revocation on: a heartbeat it sent before (older) cannot make it alive again.
        await registry.RecordStoppingAsync(context.Message.WorkerId, context.Message.RevokedAt, context.CancellationToken);
        logger.LogWarning("Worker {WorkerId} revoked by {RevokedBy}: dropped from the live workers",
            context.Message.WorkerId, context.Message.RevokedBy ?? "an operator");
    }
}

public sealed class HeartbeatConsumerDefinition : ConsumerDefinition<HeartbeatConsumer>
{
    public HeartbeatConsumerDefinition()
    {
        // A fleet's heartbeats arrive side by side, each one small registry write (a Redis script that never rolls a
        // newer heartbeat back, so order does not matter): MassTransit's default of 2 x cores in flight held intake to
        // about 2,100 per s on two cores (bench/IcosFl.Benchmarks heartbeat; docs/scaling.md).
        Endpoint(e =>
        {
            e.PrefetchCount = 512;
            e.ConcurrentMessageLimit = 128;
        });
    }
}
