using System.Globalization;
using IcosFl.Controller.Federations;
using IcosFl.Controller.Messages;
using IcosFl.Controller.Strategies;
using IcosFl.Controller.Workers;
using IcosFl.Infrastructure.Messaging;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace IcosFl.Controller.Sagas;

/// <summary>
/// Opens the federation's next round if enough workers are ready (alive and holding enough points for the run config,
/// <see cref="WorkerReadiness"/>; min-available-clients and min-fit-clients): samples the ready workers to train (the
/// strategy's configure-train) and publishes RoundOpened. Leaves <see cref="FederationState.CurrentRoundId"/> null when
/// quorum is not there yet, with <see cref="FederationState.Waiting"/> saying why; past quorum-timeout,
/// <see cref="QuorumTimeoutException"/>. The round's global model must still be fetchable
/// (<see cref="GlobalModelRecovery"/>); when it is lost for good, <see cref="GlobalModelLostException"/>.
/// </summary>
public sealed class OpenRoundActivity(
    IWorkerRegistry registry,
    GlobalModelRecovery recovery,
    IStrategyProvider strategies,
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
        var quorum = WorkerReadiness.Assess(await registry.ListAsync(context.CancellationToken), config, now,
            options.HeartbeatPatience, saga.PointsFirstSeen);
        var alive = quorum.Alive;
        if (quorum.Waiting is { } waiting)
        {
            saga.WaitingSince ??= now;
            saga.Waiting = waiting;
            saga.CurrentRoundId = null;
            var waited = now - saga.WaitingSince.Value;
            if (config.QuorumTimeout > 0 && waited.TotalSeconds >= config.QuorumTimeout)
                throw new QuorumTimeoutException(
                    $"no quorum for round {saga.Round} within quorum-timeout {config.QuorumTimeout.ToString(CultureInfo.InvariantCulture)} s: {waiting}");
            // Logged when the count of live or ready workers changes, else at most once a minute (the points grow at every heartbeat).
            if (alive.Count != saga.LastAliveCount || quorum.Ready.Count != saga.LastReadyCount ||
                saga.WaitLoggedAt is not { } logged || now - logged >= TimeSpan.FromMinutes(1))
            {
                logger.LogInformation("Federation {FederationId} round {Round} waits for quorum ({Waited} so far): {Waiting}",
                    saga.CorrelationId, saga.Round, WorkerReadiness.Duration(waited.TotalSeconds), waiting);
                saga.WaitLoggedAt = now;
            }
            saga.LastAliveCount = alive.Count;
            saga.LastReadyCount = quorum.Ready.Count;
            return;
        }

        // Checked once quorum holds, not at every quorum poll; every attempt, as a retry may follow a lost payload.
        await recovery.EnsureFetchableAsync(saga, context.CancellationToken);

        // Only workers that hold enough data for this config are sampled: the others would decline.
        var selected = strategies.For(config).ConfigureTrain(new RoundContext(saga.Round, saga.Attempt, config), quorum.Ready);
        var roundId = NewId.NextGuid();
        saga.CurrentRoundId = roundId;
        saga.LastAliveCount = alive.Count;
        saga.LastReadyCount = quorum.Ready.Count;
        saga.Waiting = null;
        saga.WaitingSince = null;
        saga.WaitLoggedAt = null;
        saga.PointsFirstSeen.Clear();
        saga.UpdatedAt = now;
        logger.LogInformation(
            "Federation {FederationId} opens round {Round} ({RoundId}, attempt {Attempt}) with {Selected} of {Ready} ready ({Alive} live) workers: {Workers}",
            saga.CorrelationId, saga.Round, roundId, saga.Attempt, selected.Count, quorum.Ready.Count, alive.Count, selected);
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

/// <summary>The federation waited quorum-timeout for enough ready workers; the message names what was missing.</summary>
public sealed class QuorumTimeoutException(string message) : Exception(message);
