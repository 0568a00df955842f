using System.Globalization;
using IcosFl.Contracts;
using IcosFl.Controller.Federations;
using IcosFl.Controller.Messages;
using IcosFl.Controller.Workers;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace IcosFl.Controller.Sagas;

/// <summary>
/// A federation: Starting -> WaitingForQuorum -> Running(round r) -> Completed | Failed | Stopped.
/// Rounds themselves are RoundStateMachine instances; this saga opens them one after the other.
/// </summary>
public sealed class FederationStateMachine : MassTransitStateMachine<FederationState>
{
    public State WaitingForQuorum { get; private set; } = null!;
    public State Running { get; private set; } = null!;
    public State Completed { get; private set; } = null!;
    public State Failed { get; private set; } = null!;
    public State Stopped { get; private set; } = null!;

    public Event<FederationRequested> StartRequested { get; private set; } = null!;
    public Event<StopFederation> StopRequested { get; private set; } = null!;
    public Event<RoundCompleted> RoundCompleted { get; private set; } = null!;
    public Event<RoundFailed> RoundFailed { get; private set; } = null!;

    public Schedule<FederationState, QuorumCheckDue> QuorumCheck { get; private set; } = null!;
    public Schedule<FederationState, RoundOverdue> RoundWatchdog { get; private set; } = null!;

    private readonly ILogger<FederationStateMachine> _logger;

    public FederationStateMachine(ControllerOptions options, ILogger<FederationStateMachine> logger)
    {
        _logger = logger;
        InstanceState(x => x.CurrentState);

        Event(() => StartRequested, e => e.CorrelateById(m => m.Message.FederationId));
        Event(() => StopRequested, e =>
        {
            e.CorrelateById(m => m.Message.FederationId);
            e.OnMissingInstance(m => m.Execute(ctx =>
                logger.LogWarning("StopFederation for unknown federation {FederationId} ignored", ctx.Message.FederationId)));
        });
        Event(() => RoundCompleted, e =>
        {
            e.CorrelateById(m => m.Message.FederationId);
            e.OnMissingInstance(m => m.Discard());
        });
        Event(() => RoundFailed, e =>
        {
            e.CorrelateById(m => m.Message.FederationId);
            e.OnMissingInstance(m => m.Discard());
        });
        Schedule(() => QuorumCheck, x => x.QuorumCheckTokenId, s =>
        {
            s.Delay = options.QuorumPollInterval;
            s.Received = r => r.CorrelateById(m => m.Message.FederationId);
        });

        // Should a round never report back (its opening lost with a controller that died at the wrong
        // moment), the federation does not wait forever: the round counts as failed and is retried.
        Schedule(() => RoundWatchdog, x => x.RoundWatchdogTokenId, s =>
        {
            s.DelayProvider = ctx => TimeSpan.FromSeconds(3 * ctx.Saga.RunConfig.RoundTimeout + 30);
            s.Received = r => r.CorrelateById(m => m.Message.FederationId);
        });

        // Late, duplicate and stale messages are expected in a distributed federation: never an error.
        OnUnhandledEvent(ctx =>
        {
            logger.LogDebug("Federation {FederationId} in {State} ignored {Event}",
                ctx.Saga.CorrelationId, ctx.Saga.CurrentState, ctx.Event.Name);
            return ctx.Ignore();
        });

        Initially(
            OpenNextRound(When(StartRequested)
                .Activity(x => x.OfType<InitializeFederationActivity>())));

        During(WaitingForQuorum,
            OpenNextRound(When(QuorumCheck.Received)));

        During(Running,
            When(RoundCompleted)
                .IfElse(ctx => ctx.Message.RoundId == ctx.Saga.CurrentRoundId,
                    current => current
                        .Unschedule(RoundWatchdog)
                        .Then(ctx => RecordCompletedRound(ctx.Saga, ctx.Message, logger))
                        .IfElse(ctx => ctx.Saga.Round > ctx.Saga.RunConfig.NumServerRounds,
                            done => done
                                .PublishAsync(ctx => ctx.Init<FederationCompleted>(new FederationCompleted
                                {
                                    FederationId = ctx.Saga.CorrelationId,
                                    Rounds = ctx.Saga.RunConfig.NumServerRounds,
                                    FinalCentralizedEval = ctx.Message.CentralizedEval,
                                    CompletedAt = DateTimeOffset.UtcNow,
                                }))
                                .Then(ctx => logger.LogInformation("Federation {FederationId} completed after {Rounds} rounds",
                                    ctx.Saga.CorrelationId, ctx.Saga.RunConfig.NumServerRounds))
                                .TransitionTo(Completed),
                            next => OpenNextRound(next)),
                    stale => stale.Then(ctx => LogStale(ctx.Saga, "completion", ctx.Message.Round, ctx.Message.RoundId, logger))),
            When(RoundFailed)
                .IfElse(ctx => ctx.Message.RoundId == ctx.Saga.CurrentRoundId,
                    current => RetryOrFail(current
                        .Unschedule(RoundWatchdog)
                        .Then(ctx => RecordFailedRound(ctx.Saga, ctx.Message.Round, ctx.Message.RoundId, ctx.Message.Attempt,
                            ctx.Message.Reason, logger))),
                    stale => stale.Then(ctx => LogStale(ctx.Saga, "failure", ctx.Message.Round, ctx.Message.RoundId, logger))),
            When(RoundWatchdog.Received)
                .IfElse(ctx => ctx.Message.RoundId == ctx.Saga.CurrentRoundId,
                    overdue => RetryOrFail(overdue
                        .Then(ctx => RecordFailedRound(ctx.Saga, ctx.Saga.Round, ctx.Message.RoundId, ctx.Saga.Attempt,
                            $"no result within {3 * ctx.Saga.RunConfig.RoundTimeout + 30:0} s (3 x round-timeout + 30 s)", logger))),
                    stale => stale));

        During(WaitingForQuorum, Running,
            When(StopRequested)
                .Unschedule(QuorumCheck)
                .Unschedule(RoundWatchdog)
                .Then(ctx =>
                {
                    ctx.Saga.Waiting = null;
                    ctx.Saga.Reason = ctx.Message.Reason ?? "stopped by operator";
                    ctx.Saga.UpdatedAt = DateTimeOffset.UtcNow;
                    logger.LogInformation("Federation {FederationId} stopped: {Reason}", ctx.Saga.CorrelationId, ctx.Saga.Reason);
                })
                .PublishAsync(ctx => ctx.Init<FederationStopped>(new FederationStopped
                {
                    FederationId = ctx.Saga.CorrelationId,
                    Reason = ctx.Saga.Reason,
                    CompletedRounds = ctx.Saga.Rounds.Count(r => r.State == "Completed"),
                    StoppedAt = DateTimeOffset.UtcNow,
                }))
                .TransitionTo(Stopped));

        During(new[] { WaitingForQuorum, Running, Completed, Failed, Stopped },
            When(StartRequested)
                .Then(ctx => logger.LogWarning(
                    "Duplicate StartFederation for {FederationId} ignored: it already exists ({State})",
                    ctx.Saga.CorrelationId, ctx.Saga.CurrentState)));
    }

    /// <summary>
    /// Opens the federation's next round now if quorum holds, else waits for it and looks again later. A global model
    /// lost for good fails the federation at once: every attempt would send the same missing payload. So does waiting
    /// longer than quorum-timeout for enough ready workers.
    /// </summary>
    private EventActivityBinder<FederationState, T> OpenNextRound<T>(EventActivityBinder<FederationState, T> binder) where T : class =>
        binder
            .TransitionTo(WaitingForQuorum)
            .Activity(x => x.OfInstanceType<OpenRoundActivity>())
            .Catch<GlobalModelLostException>(lost => FailFederation(lost))
            .Catch<QuorumTimeoutException>(timedOut => FailFederation(timedOut))
            .IfElse(ctx => ctx.Saga.CurrentRoundId.HasValue,
                opened => opened
                    .Schedule(RoundWatchdog, ctx => new RoundOverdue(ctx.Saga.CorrelationId, ctx.Saga.CurrentRoundId!.Value))
                    .TransitionTo(Running),
                waiting => waiting.Schedule(QuorumCheck, ctx => new QuorumCheckDue(ctx.Saga.CorrelationId)));

    private ExceptionActivityBinder<FederationState, T, TException> FailFederation<T, TException>(
        ExceptionActivityBinder<FederationState, T, TException> binder) where T : class where TException : Exception =>
        binder
            .Then(ctx =>
            {
                ctx.Saga.CurrentRoundId = null;
                ctx.Saga.Waiting = null;
                ctx.Saga.Reason = ctx.Exception.Message;
                ctx.Saga.UpdatedAt = DateTimeOffset.UtcNow;
            })
            .PublishAsync(ctx => ctx.Init<FederationFailed>(FederationFailedFrom(ctx.Saga)))
            .Then(ctx => _logger.LogError("Federation {FederationId} failed: {Reason}", ctx.Saga.CorrelationId, ctx.Saga.Reason))
            .TransitionTo(Failed);

    /// <summary>
    /// After a failed attempt: retry the round (up to round-retries) once its retry delay has passed (round-retry-delay,
    /// doubling per retry, <see cref="RunConfig.RetryDelayBefore"/>), or give the federation up.
    /// </summary>
    private EventActivityBinder<FederationState, T> RetryOrFail<T>(EventActivityBinder<FederationState, T> binder) where T : class =>
        binder.IfElse(ctx => ctx.Saga.Attempt > ctx.Saga.RunConfig.RoundRetries + 1,
            give => give
                .Then(ctx =>
                {
                    ctx.Saga.Waiting = null;
                    ctx.Saga.Reason =
                        $"round {ctx.Saga.Round} failed {ctx.Saga.Attempt - 1} times (round-retries={ctx.Saga.RunConfig.RoundRetries}); last: {ctx.Saga.Rounds[^1].Reason}";
                })
                .PublishAsync(ctx => ctx.Init<FederationFailed>(FederationFailedFrom(ctx.Saga)))
                .Then(ctx => _logger.LogError("Federation {FederationId} failed: {Reason}", ctx.Saga.CorrelationId, ctx.Saga.Reason))
                .TransitionTo(Failed),
            retry => retry.IfElse(ctx => ctx.Saga.RunConfig.RetryDelayBefore(ctx.Saga.Attempt) > 0,
                later => later
                    .Then(ctx =>
                    {
                        var delay = ctx.Saga.RunConfig.RetryDelayBefore(ctx.Saga.Attempt);
                        ctx.Saga.Waiting =
                            $"retrying round {ctx.Saga.Round} (attempt {ctx.Saga.Attempt} of {ctx.Saga.RunConfig.RoundRetries + 1}) " +
                            $"at {ctx.Saga.UpdatedAt.AddSeconds(delay):O}, {WorkerReadiness.Duration(delay)} after attempt {ctx.Saga.Attempt - 1} failed " +
                            $"(round-retry-delay {ctx.Saga.RunConfig.RoundRetryDelay.ToString(CultureInfo.InvariantCulture)} s, doubled per retry): " +
                            ctx.Saga.Rounds[^1].Reason;
                        _logger.LogInformation("Federation {FederationId} retries round {Round} (attempt {Attempt}) in {Delay}",
                            ctx.Saga.CorrelationId, ctx.Saga.Round, ctx.Saga.Attempt, WorkerReadiness.Duration(delay));
                    })
                    .Schedule(QuorumCheck, ctx => new QuorumCheckDue(ctx.Saga.CorrelationId),
                        ctx => TimeSpan.FromSeconds(ctx.Saga.RunConfig.RetryDelayBefore(ctx.Saga.Attempt)))
                    .TransitionTo(WaitingForQuorum),
                now => OpenNextRound(now)));

    private static FederationFailed FederationFailedFrom(FederationState saga) => new()
    {
        FederationId = saga.CorrelationId,
        Reason = saga.Reason!,
        CompletedRounds = saga.Round - 1,
        FailedAt = DateTimeOffset.UtcNow,
    };

    private static void LogStale(FederationState saga, string what, int round, Guid roundId, ILogger logger) =>
        logger.LogWarning(
            "Federation {FederationId} ignored a {What} of round {Round} ({RoundId}): not the round in progress",
            saga.CorrelationId, what, round, roundId);

    private static void RecordCompletedRound(FederationState saga, RoundCompleted message, ILogger logger)
    {
        saga.Rounds.Add(new RoundSummary(message.Round, message.RoundId, saga.Attempt, "Completed", message.Participants,
            message.TrainLoss, message.EvalLoss, message.CentralizedEval, message.DurationMs, null, message.Rejected));
        saga.GlobalWeights = message.GlobalWeights;
        saga.ServerState = message.ServerState;
        if (message.CentralizedEval is { } eval &&
            (saga.BestCentralizedEval is null || eval.Mse < saga.BestCentralizedEval.Mse))
        {
            saga.BestCentralizedEval = eval;
            saga.BestRound = message.Round;
        }
        saga.CurrentRoundId = null;
        saga.Round++;
        saga.Attempt = 1;
        saga.UpdatedAt = DateTimeOffset.UtcNow;
        logger.LogInformation(
            "Federation {FederationId} round {Round} completed with {Participants} participants, train loss {TrainLoss}, eval loss {EvalLoss}",
            saga.CorrelationId, message.Round, message.Participants.Count, message.TrainLoss, message.EvalLoss);
    }

    private static void RecordFailedRound(FederationState saga, int round, Guid roundId, int attempt, string reason, ILogger logger)
    {
        saga.Rounds.Add(new RoundSummary(round, roundId, attempt, "Failed", [], null, null, null, null, reason, []));
        saga.CurrentRoundId = null;
        saga.Attempt++;
        saga.UpdatedAt = DateTimeOffset.UtcNow;
        logger.LogWarning("Federation {FederationId} round {Round} attempt {Attempt} failed: {Reason}",
            saga.CorrelationId, round, attempt, reason);
    }
}
