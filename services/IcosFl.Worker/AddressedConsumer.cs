using IcosFl.Contracts;
using IcosFl.Learning;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace IcosFl.Worker;

/// <summary>
/// The path every message addressed to one worker takes (a round start, an evaluation request): a message for another
/// worker is ignored (on RabbitMQ the routing key already limits delivery to the addressee; in memory every worker
/// sees it), the rest is handled in a log scope naming the federation, round and worker, and an unexpected exception
/// while the node works on it (the node store failing, an error inside libtorch) is this node's failure, not the
/// round's: the worker declines with it, so the controller counts the node out now instead of waiting for the deadline.
/// </summary>
/// <param name="addressOf">The federation, round and addressee of a message.</param>
/// <param name="work">What the node does with the message, for the log ("train", "evaluate").</param>
/// <param name="failureNoun">The work as a decline names it ("local training", "evaluation").</param>
public abstract class AddressedConsumer<T>(WorkerNode node, ILogger logger,
    Func<T, (Guid FederationId, Guid RoundId, int Round, string WorkerId)> addressOf, string work, string failureNoun) : IConsumer<T>
    where T : class
{
    protected WorkerNode Node => node;

    protected ILogger Logger => logger;

    /// <summary>Handles a message addressed to this worker.</summary>
    protected abstract Task ConsumeAddressed(ConsumeContext<T> context);

    /// <summary>Answers the controller that this node does not do the work, and why.</summary>
    protected abstract Task Decline(ConsumeContext<T> context, string reason);

    public async Task Consume(ConsumeContext<T> context)
    {
        var (federationId, roundId, _, workerId) = addressOf(context.Message);
        if (workerId != node.WorkerId)
        {
            logger.LogDebug("{WorkerId} ignored a message addressed to {Addressee}", node.WorkerId, workerId);
            return;
        }

        using var scope = logger.BeginScope(new Dictionary<string, object>
        {
            ["FederationId"] = federationId, ["RoundId"] = roundId, ["WorkerId"] = node.WorkerId,
        });
        await ConsumeAddressed(context);
    }

    /// <summary>
    /// The forecast metric and every input metric of <paramref name="config"/> on this node, or null after declining
    /// (a node lacking one can neither train nor evaluate this model).
    /// </summary>
    protected async Task<FeatureSeries?> SeriesOrDecline(ConsumeContext<T> context, RunConfig config)
    {
        if (node.TryReadSeries(config, out var series, out var unavailable))
            return series;
        await Decline(context, unavailable);
        return null;
    }

    /// <summary>
    /// Runs the node's work; null when it declined (by itself, with its own reason, or here, naming the unexpected
    /// exception that stopped it).
    /// </summary>
    protected async Task<TResult?> OrDecline<TResult>(ConsumeContext<T> context, Func<Task<TResult?>> attempt)
        where TResult : class
    {
        try
        {
            return await attempt();
        }
        catch (Exception e) when (!context.CancellationToken.IsCancellationRequested)
        {
            logger.LogError(e, "{WorkerId} could not {Work} round {Round}", node.WorkerId, work, addressOf(context.Message).Round);
            await Decline(context, $"{failureNoun} failed: {e.GetType().Name}: {e.Message.Split('\n', 2)[0].Trim()}");
            return null;
        }
    }
}
