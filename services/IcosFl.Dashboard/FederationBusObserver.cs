using IcosFl.Contracts;
using MassTransit;

namespace IcosFl.Dashboard;

/// <summary>
/// Watches what the controller's bus consumes and publishes (no queue of its own, so no extra copy of
/// any weights travels): feeds the metrics and wakes the live views. Counted on the controller's side
/// only, so the figures mean the same in the embedded and the deployed mode.
/// </summary>
public sealed class FederationBusObserver(FederationMetrics metrics, FederationActivity activity) : IConsumeObserver, IPublishObserver
{
    public Task PostConsume<T>(ConsumeContext<T> context) where T : class
    {
        switch (context.Message)
        {
            // Only the round saga consumes updates on the controller's bus.
            case WeightUpdateSubmitted update:
                metrics.UpdateReceived(update.Weights.Length);
                break;
        }
        if (IsFederationEvent(context.Message))
            activity.Changed();
        return Task.CompletedTask;
    }

    public Task PostPublish<T>(PublishContext<T> context) where T : class
    {
        switch (context.Message)
        {
            case RoundStarted started:
                metrics.WeightsSent(started.GlobalWeights.Length);
                break;
            case EvaluationRequested evaluation:
                metrics.WeightsSent(evaluation.GlobalWeights.Length);
                break;
            // Counted where the controller publishes them: other consumers of these events (the
            // simulation's progress lines, a second controller) must not count them again.
            case RoundCompleted completed:
                metrics.RoundCompleted(completed.DurationMs, completed.Rejected.Count);
                break;
            case RoundFailed:
                metrics.RoundFailed();
                break;
        }
        if (IsFederationEvent(context.Message))
            activity.Changed();
        return Task.CompletedTask;
    }

    private static bool IsFederationEvent(object message) => message is FederationStarted or RoundStarted or WeightUpdateSubmitted
        or TrainingDeclined or RoundCompleted or RoundFailed or FederationCompleted or FederationFailed or FederationStopped
        or WorkerHeartbeat or WorkerStopping or EvaluationReported;

    public Task PreConsume<T>(ConsumeContext<T> context) where T : class => Task.CompletedTask;

    public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception) where T : class => Task.CompletedTask;

    public Task PrePublish<T>(PublishContext<T> context) where T : class => Task.CompletedTask;

    public Task PublishFault<T>(PublishContext<T> context, Exception exception) where T : class => Task.CompletedTask;
}
