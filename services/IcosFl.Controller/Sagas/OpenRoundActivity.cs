using IcosFl.Controller.Federations;
using IcosFl.Controller.Messages;
using IcosFl.Controller.Strategies;
using IcosFl.Controller.Workers;
using IcosFl.Infrastructure.Messaging;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace IcosFl.Controller.Sagas;

/// <summary>
/// Opens the federation's next round if enough workers are alive (min-available-clients): samples
/// the workers to train (the strategy's configure-train) and publishes RoundOpened. Leaves
/// <see cref="FederationState.CurrentRoundId"/> null when quorum is not there yet. The round's global model must still
/// be fetchable (<see cref="GlobalModelRecovery"/>); when it is lost for good, <see cref="GlobalModelLostException"/>.
/// </summary>
public sealed class OpenRoundActivity(
    IWorkerRegistry registry,
    GlobalModelRecovery recovery,
    ControllerOptions options,
    TimeProvider clock,
    ILogger<OpenRoundActivity> logger) : InstanceActivity<FederationState>
{
    protected override string Name => "open-round";

    protected override async Task Run(BehaviorContext<FederationState> context)
    {
        var saga = context.Saga;
        var config = saga.RunConfig;
        var now = clock.GetUtcNow();
        var alive = await registry.AliveAsync(now, options.HeartbeatPatience, context.CancellationToken);
        if (alive.Count < config.MinAvailableClients || alive.Count < config.MinFitClients)
        {
            if (alive.Count != saga.LastAliveCount)
                logger.LogInformation(
                    "Federation {FederationId} round {Round} waits for quorum: {Alive} workers alive, min-available-clients {MinAvailable}, min-fit-clients {MinFit}",
                    saga.CorrelationId, saga.Round, alive.Count, config.MinAvailableClients, config.MinFitClients);
            saga.LastAliveCount = alive.Count;
            saga.CurrentRoundId = null;
            return;
        }

        // Checked once quorum holds, not at every quorum poll; every attempt, as a retry may follow a lost payload.
        await recovery.EnsureFetchableAsync(saga, context.CancellationToken);

        var strategy = StrategyFactory.Create(config);
        var selected = strategy.ConfigureTrain(new RoundContext(saga.Round, saga.Attempt, config), alive);
        var roundId = NewId.NextGuid();
        saga.CurrentRoundId = roundId;
        saga.LastAliveCount = alive.Count;
        saga.UpdatedAt = now;
        logger.LogInformation(
            "Federation {FederationId} opens round {Round} ({RoundId}, attempt {Attempt}) with {Selected} of {Alive} live workers: {Workers}",
            saga.CorrelationId, saga.Round, roundId, saga.Attempt, selected.Count, alive.Count, selected);
        await context.PublishFromConsumer(new RoundOpened
        {
            FederationId = saga.CorrelationId,
            RoundId = roundId,
            Round = saga.Round,
            Attempt = saga.Attempt,
            RunConfig = config,
            SelectedWorkers = selected,
            GlobalWeights = saga.GlobalWeights ?? throw new InvalidOperationException(
                $"Federation {saga.CorrelationId} has no global weights to open round {saga.Round} with"),
            ServerState = saga.ServerState,
            OpenedAt = now,
        });
    }
}
