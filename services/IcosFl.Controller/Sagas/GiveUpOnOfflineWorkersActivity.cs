using IcosFl.Controller.Rounds;
using IcosFl.Controller.Workers;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace IcosFl.Controller.Sagas;

/// <summary>
/// A selected worker that went offline mid-round is no longer waited for: the round costs it only
/// that worker's update. When that leaves nobody to wait for, the ledger's answers are copied onto the
/// saga, which then concludes collecting.
/// </summary>
public sealed class GiveUpOnOfflineWorkersActivity(
    IWorkerRegistry registry,
    IRoundLedger ledger,
    ControllerOptions options,
    TimeProvider clock,
    ILogger<GiveUpOnOfflineWorkersActivity> logger) : InstanceActivity<RoundState>
{
    protected override string Name => "give-up-on-offline-workers";

    protected override async Task Run(BehaviorContext<RoundState> context)
    {
        var saga = context.Saga;
        var ct = context.CancellationToken;
        var alive = (await registry.AliveAsync(clock.GetUtcNow(), options.HeartbeatPatience, ct)).ToHashSet();
        var offline = saga.Selected.Where(w => !alive.Contains(w)).ToList();
        if (offline.Count > 0)
        {
            // The ledger skips those that have answered meanwhile, atomically with their answers.
            var result = await ledger.GiveUpAsync(saga.CorrelationId, RoundPhase.Training, offline,
                "went offline during the round (missed heartbeats)", ct);
            foreach (var worker in result.GivenUp)
                logger.LogWarning(
                    "Federation {FederationId} round {Round} ({RoundId}): selected worker {WorkerId} went offline, no longer waited for",
                    saga.FederationId, saga.Round, saga.CorrelationId, worker);
        }

        // A closed ledger concludes the round from here. Read it every time rather than trust this call's
        // "closed the ledger": should an earlier attempt have closed it and then failed before the saga was
        // saved (a retry, a restart), no answer would ever announce it. Closed by a completing answer
        // instead, its RoundCollected finds the round aggregating already and is ignored.
        if (await ledger.ReadAsync(saga.CorrelationId, RoundPhase.Training, ct) is { Closed: true } snapshot)
            snapshot.CopyTrainingTo(saga);
    }
}
