using IcosFl.Contracts;
using IcosFl.Controller.Workers;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace IcosFl.Controller.Sagas;

/// <summary>
/// A selected worker that went offline mid-round is no longer waited for: the round costs it only
/// that worker's update.
/// </summary>
public sealed class GiveUpOnOfflineWorkersActivity(
    IWorkerRegistry registry,
    ControllerOptions options,
    TimeProvider clock,
    ILogger<GiveUpOnOfflineWorkersActivity> logger) : IStateMachineActivity<RoundState>
{
    public async Task Execute(BehaviorContext<RoundState> context, IBehavior<RoundState> next)
    {
        await GiveUp(context);
        await next.Execute(context);
    }

    public async Task Execute<T>(BehaviorContext<RoundState, T> context, IBehavior<RoundState, T> next) where T : class
    {
        await GiveUp(context);
        await next.Execute(context);
    }

    private async Task GiveUp(BehaviorContext<RoundState> context)
    {
        var saga = context.Saga;
        var alive = (await registry.AliveAsync(clock.GetUtcNow(), options.HeartbeatPatience, context.CancellationToken)).ToHashSet();
        foreach (var worker in saga.Selected)
        {
            if (alive.Contains(worker) || saga.HasAnswered(worker))
                continue;
            saga.Rejected.Add(new RejectedUpdate(worker, "went offline during the round (missed heartbeats)"));
            logger.LogWarning(
                "Federation {FederationId} round {Round} ({RoundId}): selected worker {WorkerId} went offline, no longer waited for",
                saga.FederationId, saga.Round, saga.CorrelationId, worker);
        }
    }

    public Task Faulted<TException>(BehaviorExceptionContext<RoundState, TException> context, IBehavior<RoundState> next)
        where TException : Exception => next.Faulted(context);

    public Task Faulted<T, TException>(BehaviorExceptionContext<RoundState, T, TException> context, IBehavior<RoundState, T> next)
        where T : class where TException : Exception => next.Faulted(context);

    public void Probe(ProbeContext context) => context.CreateScope("give-up-on-offline-workers");

    public void Accept(StateMachineVisitor visitor) => visitor.Visit(this);
}
