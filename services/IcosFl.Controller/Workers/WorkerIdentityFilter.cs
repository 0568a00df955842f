using IcosFl.Contracts;
using IcosFl.Infrastructure.Messaging;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace IcosFl.Controller.Workers;

/// <summary>How the controller decides who sent a worker's message.</summary>
public enum WorkerAuthentication
{
    /// <summary>
    /// Deployed: the broker's user_id property (checked by RabbitMQ against the connection's user) must be the claimed
    /// WorkerId's node user, <c>icosfl-node-{WorkerId}</c>, or the shared development user when one is allowed.
    /// </summary>
    Broker,

    /// <summary>
    /// The embedded simulation: controller and workers in one process on the in-memory transport, no broker and no
    /// user; every message is trusted. Never for a deployed controller.
    /// </summary>
    InProcessTrusted,
}

/// <summary>
/// The one place the controller checks who sent a worker's message (heartbeat, goodbye, update, decline, evaluation):
/// a consume filter on every controller endpoint, before any consumer or saga sees the message. A message whose
/// authenticated broker user is not the claimed WorkerId's is logged (claimed id, authenticated user, why) and
/// consumed without effect.
/// </summary>
public sealed class WorkerIdentityFilter<T>(ControllerOptions options, ILogger<WorkerIdentityFilter<T>> logger) : IFilter<ConsumeContext<T>>
    where T : class
{
    public async Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        if (options.WorkerAuthentication == WorkerAuthentication.InProcessTrusted
            || WorkerIdentity.ClaimedWorkerId(context.Message) is not { } claimed)
        {
            await next.Send(context);
            return;
        }

        var user = BrokerIdentity.AuthenticatedUser(context);
        if (WorkerIdentity.Refusal(claimed, user, options.SharedWorkerUser) is not { } reason)
        {
            await next.Send(context);
            return;
        }

        logger.LogWarning("{MessageType} claiming worker {WorkerId} rejected: authenticated broker user {BrokerUser}: {Reason}",
            typeof(T).Name, claimed, user ?? "(none)", reason);
        // Consumed, not faulted or skipped: the forgery is logged here and changes nothing.
        await context.NotifyConsumed(context, TimeSpan.Zero, nameof(WorkerIdentityFilter<T>));
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("worker-identity");
}

/// <summary>Which messages speak for a worker, and whether their broker user may.</summary>
public static class WorkerIdentity
{
    /// <summary>The WorkerId a message a worker sends claims to come from, or null for any other message.</summary>
    public static string? ClaimedWorkerId(object message) => message switch
    {
        WorkerHeartbeat m => m.WorkerId,
        WorkerStopping m => m.WorkerId,
        WeightUpdateSubmitted m => m.WorkerId,
        TrainingDeclined m => m.WorkerId,
        EvaluationReported m => m.WorkerId,
        WeightChunk m => m.WorkerId,
        WeightChunkRequested m => m.WorkerId,
        _ => null,
    };

    /// <summary>
    /// Null when <paramref name="brokerUser"/> may speak for <paramref name="claimedWorkerId"/>, else why not: the
    /// user must be the worker's node user, or <paramref name="sharedWorkerUser"/> (development mode) when set.
    /// </summary>
    public static string? Refusal(string claimedWorkerId, string? brokerUser, string? sharedWorkerUser)
    {
        if (brokerUser is null)
            return "the message carries no broker-checked user_id";
        if (sharedWorkerUser is { Length: > 0 } && string.Equals(brokerUser, sharedWorkerUser, StringComparison.Ordinal))
            return null;
        if (BrokerIdentity.WorkerIdOf(brokerUser) is { } own)
            return string.Equals(own, claimedWorkerId, StringComparison.Ordinal)
                ? null
                : $"user {brokerUser} is the node user of worker {own}, not of {claimedWorkerId}";
        return string.Equals(brokerUser, BrokerIdentity.SharedWorkerUser, StringComparison.Ordinal)
            ? $"user {brokerUser} is the shared development worker user, which this controller does not accept (see --shared-worker-user)"
            : $"user {brokerUser} is no node user ({BrokerIdentity.NodeUserPrefix}{{worker id}})";
    }
}
