using IcosFl.Contracts;
using IcosFl.Controller.Messages;
using IcosFl.Controller.Rounds;
using IcosFl.Controller.Strategies;
using IcosFl.Infrastructure.Messaging;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace IcosFl.Controller.Sagas;

/// <summary>
/// One round attempt: Collecting -> Aggregating -> Evaluating -> Completed | TimedOut | Failed.
/// Collects updates from the selected workers until all answered (or were given up on as offline)
/// or the deadline passes; aggregates if at least min-fit-clients updates arrived; then asks the
/// chosen evaluators to evaluate the new global model. The answers themselves are counted in the
/// round's ledger (<see cref="IRoundLedger"/>, by <see cref="RoundAnswerConsumer"/>), not here: the
/// saga hears once per phase that the set is complete, and copies the ledger when the phase ends.
/// The saga decides nothing about the model: the round's evaluation loss is the strategy's
/// aggregate-evaluate of the reports it copied (<see cref="IStrategy.AggregateEvaluate"/>).
/// </summary>
public sealed class RoundStateMachine : MassTransitStateMachine<RoundState>
{
    public State Collecting { get; private set; } = null!;
    public State Aggregating { get; private set; } = null!;
    public State Evaluating { get; private set; } = null!;
    public State Completed { get; private set; } = null!;
    public State TimedOut { get; private set; } = null!;
    public State Failed { get; private set; } = null!;

    public Event<RoundOpened> Opened { get; private set; } = null!;
    public Event<RoundCollected> Collected { get; private set; } = null!;
    public Event<RoundAggregated> Aggregated { get; private set; } = null!;
    public Event<RoundAggregationFailed> AggregationFailed { get; private set; } = null!;
    public Event<RoundEvaluated> Evaluated { get; private set; } = null!;

    public Schedule<RoundState, RoundDeadlineReached> Deadline { get; private set; } = null!;
    public Schedule<RoundState, EvaluationDeadlineReached> EvaluationDeadline { get; private set; } = null!;
    public Schedule<RoundState, RoundLivenessCheckDue> LivenessCheck { get; private set; } = null!;

    private const string MissedDeadline = "no update by the round deadline";

    private readonly ILogger<RoundStateMachine> _logger;
    private readonly IStrategyProvider _strategies;

    public RoundStateMachine(ControllerOptions options, IRoundLedger ledger, IStrategyProvider strategies, ILogger<RoundStateMachine> logger)
    {
        _logger = logger;
        _strategies = strategies;
        InstanceState(x => x.CurrentState);

        Event(() => Opened, e => e.CorrelateById(m => m.Message.RoundId));
        Event(() => Collected, e =>
        {
            e.CorrelateById(m => m.Message.RoundId);
            e.OnMissingInstance(m => m.Discard());
        });
        Event(() => Aggregated, e => e.CorrelateById(m => m.Message.RoundId));
        Event(() => AggregationFailed, e => e.CorrelateById(m => m.Message.RoundId));
        Event(() => Evaluated, e =>
        {
            e.CorrelateById(m => m.Message.RoundId);
            e.OnMissingInstance(m => m.Discard());
        });
        Schedule(() => Deadline, x => x.DeadlineTokenId, s =>
        {
            s.DelayProvider = ctx => TimeSpan.FromSeconds(ctx.Saga.RunConfig.RoundTimeout);
            s.Received = r => r.CorrelateById(m => m.Message.RoundId);
        });
        Schedule(() => EvaluationDeadline, x => x.EvaluationDeadlineTokenId, s =>
        {
            s.DelayProvider = ctx => TimeSpan.FromSeconds(ctx.Saga.RunConfig.RoundTimeout);
            s.Received = r => r.CorrelateById(m => m.Message.RoundId);
        });
        Schedule(() => LivenessCheck, x => x.LivenessCheckTokenId, s =>
        {
            s.Delay = options.LivenessCheckInterval;
            s.Received = r => r.CorrelateById(m => m.Message.RoundId);
        });

        OnUnhandledEvent(ctx =>
        {
            logger.LogDebug("Round {RoundId} in {State} ignored {Event}", ctx.Saga.CorrelationId, ctx.Saga.CurrentState, ctx.Event.Name);
            return ctx.Ignore();
        });

        Initially(
            When(Opened)
                .Then(ctx =>
                {
                    var m = ctx.Message;
                    var saga = ctx.Saga;
                    saga.FederationId = m.FederationId;
                    saga.Round = m.Round;
                    saga.Attempt = m.Attempt;
                    saga.RunConfig = m.RunConfig;
                    saga.Selected = m.SelectedWorkers.ToList();
                    saga.GlobalWeights = m.GlobalWeights;
                    saga.ServerState = m.ServerState;
                    saga.OpenedAt = m.OpenedAt;
                    saga.Deadline = m.OpenedAt + TimeSpan.FromSeconds(m.RunConfig.RoundTimeout);
                })
                .Schedule(Deadline, ctx => new RoundDeadlineReached(ctx.Saga.CorrelationId))
                .Schedule(LivenessCheck, ctx => new RoundLivenessCheckDue(ctx.Saga.CorrelationId))
                .ThenAsync(async ctx =>
                {
                    var saga = ctx.Saga;
                    // The ledger first: no answer may arrive before there is a ledger to count it in.
                    await ledger.OpenAsync(saga.CorrelationId, RoundPhase.Training, saga.Selected, ctx.CancellationToken);
                    // The endpoint's outbox holds these until the saga is stored, then sends them all at once.
                    foreach (var worker in saga.Selected)
                        await ctx.PublishFromConsumer(new RoundStarted
                        {
                            FederationId = saga.FederationId,
                            RoundId = saga.CorrelationId,
                            Round = saga.Round,
                            WorkerId = worker,
                            GlobalWeights = saga.GlobalWeights!,
                            RunConfig = saga.RunConfig,
                            Deadline = saga.Deadline,
                        });
                })
                .TransitionTo(Collecting));

        During(Collecting,
            ConcludeCollecting(
                When(Collected).ThenAsync(ctx => CopyLedgerAsync(ledger, ctx.Saga, ctx.CancellationToken)),
                atDeadline: false),
            When(LivenessCheck.Received)
                .Activity(x => x.OfInstanceType<GiveUpOnOfflineWorkersActivity>())
                .IfElse(ctx => ctx.Saga.AllSelectedAnswered(),
                    all => ConcludeCollecting(all, atDeadline: false),
                    wait => wait.Schedule(LivenessCheck, ctx => new RoundLivenessCheckDue(ctx.Saga.CorrelationId))),
            ConcludeCollecting(
                When(Deadline.Received)
                    .ThenAsync(async ctx =>
                    {
                        var saga = ctx.Saga;
                        saga.DeadlineTokenId = null;
                        // Closing is atomic with counting: an update racing the deadline is either in or late, never both.
                        await ledger.CloseAsync(saga.CorrelationId, RoundPhase.Training, MissedDeadline, ctx.CancellationToken);
                        await CopyLedgerAsync(ledger, saga, ctx.CancellationToken);
                        logger.LogWarning(
                            "Federation {FederationId} round {Round} ({RoundId}) reached its deadline with {Received} of {Selected} updates",
                            saga.FederationId, saga.Round, saga.CorrelationId, saga.Updates.Count, saga.Selected.Count);
                    }),
                atDeadline: true));

        During(Aggregating,
            RequestAggregation(When(Deadline.Received)
                .Then(ctx => logger.LogWarning(
                    "Federation {FederationId} round {Round} ({RoundId}): no aggregation result by the deadline; asking again",
                    ctx.Saga.FederationId, ctx.Saga.Round, ctx.Saga.CorrelationId))),
            When(Aggregated)
                .Unschedule(Deadline)
                .Then(ctx =>
                {
                    var saga = ctx.Saga;
                    var m = ctx.Message;
                    saga.NewGlobalWeights = m.NewGlobalWeights;
                    saga.NewServerState = m.ServerState;
                    saga.Used = m.Used.ToList();
                    saga.Rejected.AddRange(m.Rejected);
                    saga.TrainLoss = m.TrainLoss;
                    saga.CentralizedEval = m.CentralizedEval;
                    saga.Evaluators = m.Evaluators.ToList();
                })
                .IfElse(ctx => ctx.Saga.Evaluators.Count > 0,
                    evaluate => evaluate
                        .Schedule(EvaluationDeadline, ctx => new EvaluationDeadlineReached(ctx.Saga.CorrelationId))
                        .ThenAsync(async ctx =>
                        {
                            var saga = ctx.Saga;
                            await ledger.OpenAsync(saga.CorrelationId, RoundPhase.Evaluation, saga.Evaluators, ctx.CancellationToken);
                            var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(saga.RunConfig.RoundTimeout);
                            foreach (var worker in saga.Evaluators)
                                await ctx.PublishFromConsumer(new EvaluationRequested
                                {
                                    FederationId = saga.FederationId,
                                    RoundId = saga.CorrelationId,
                                    Round = saga.Round,
                                    WorkerId = worker,
                                    GlobalWeights = saga.NewGlobalWeights!,
                                    RunConfig = saga.RunConfig,
                                    Deadline = deadline,
                                });
                        })
                        .TransitionTo(Evaluating),
                    done => Complete(done)),
            When(AggregationFailed)
                .Unschedule(Deadline)
                .Then(ctx =>
                {
                    ctx.Saga.Rejected.AddRange(ctx.Message.Rejected);
                    ctx.Saga.Reason = ctx.Message.Reason;
                })
                .PublishAsync(ctx => ctx.Init<RoundFailed>(RoundFailedFrom(ctx.Saga)))
                .Then(ctx => logger.LogWarning("Federation {FederationId} round {Round} ({RoundId}) failed: {Reason}",
                    ctx.Saga.FederationId, ctx.Saga.Round, ctx.Saga.CorrelationId, ctx.Saga.Reason))
                .TransitionTo(Failed));

        During(Evaluating,
            Complete(When(Evaluated)
                .Unschedule(EvaluationDeadline)
                .ThenAsync(ctx => CopyEvaluationsAsync(ledger, ctx.Saga, ctx.CancellationToken))),
            Complete(When(EvaluationDeadline.Received)
                .ThenAsync(async ctx =>
                {
                    var saga = ctx.Saga;
                    saga.EvaluationDeadlineTokenId = null;
                    await ledger.CloseAsync(saga.CorrelationId, RoundPhase.Evaluation, "no evaluation by the deadline", ctx.CancellationToken);
                    await CopyEvaluationsAsync(ledger, saga, ctx.CancellationToken);
                    logger.LogWarning(
                        "Federation {FederationId} round {Round} ({RoundId}): evaluation deadline with {Reported} of {Evaluators} reports",
                        saga.FederationId, saga.Round, saga.CorrelationId, saga.Evaluations.Count, saga.Evaluators.Count);
                })));
    }

    /// <summary>The training ledger's answers onto the saga, once, when collecting ends (the ledger is closed by then).</summary>
    private static async Task CopyLedgerAsync(IRoundLedger ledger, RoundState saga, CancellationToken cancellationToken)
    {
        var snapshot = await ledger.ReadAsync(saga.CorrelationId, RoundPhase.Training, cancellationToken)
            ?? throw new InvalidOperationException(
                $"Round {saga.CorrelationId} of federation {saga.FederationId} has no training ledger: it expired, or Redis lost it");
        snapshot.CopyTrainingTo(saga);
    }

    private static async Task CopyEvaluationsAsync(IRoundLedger ledger, RoundState saga, CancellationToken cancellationToken)
    {
        var snapshot = await ledger.ReadAsync(saga.CorrelationId, RoundPhase.Evaluation, cancellationToken)
            ?? throw new InvalidOperationException(
                $"Round {saga.CorrelationId} of federation {saga.FederationId} has no evaluation ledger: it expired, or Redis lost it");
        saga.Evaluations = [.. snapshot.Evaluations];
    }

    private EventActivityBinder<RoundState, T> ConcludeCollecting<T>(EventActivityBinder<RoundState, T> binder, bool atDeadline)
        where T : class =>
        binder
            .Unschedule(LivenessCheck)
            .IfElse(ctx => ctx.Saga.Updates.Count >= ctx.Saga.RunConfig.MinFitClients,
                aggregate => RequestAggregation(aggregate).TransitionTo(Aggregating),
                fail => fail
                    .Unschedule(Deadline)
                    .Then(ctx => ctx.Saga.Reason =
                        $"{ctx.Saga.Updates.Count} of {ctx.Saga.Selected.Count} selected workers sent an update" +
                        (atDeadline ? " by the deadline" : "") +
                        $", min-fit-clients is {ctx.Saga.RunConfig.MinFitClients}" +
                        (ctx.Saga.Rejected.Count > 0
                            ? "; " + string.Join("; ", ctx.Saga.Rejected.Select(r => $"{r.WorkerId}: {r.Reason}"))
                            : ""))
                    .PublishAsync(ctx => ctx.Init<RoundFailed>(RoundFailedFrom(ctx.Saga)))
                    .Then(ctx => _logger.LogWarning("Federation {FederationId} round {Round} ({RoundId}) failed: {Reason}",
                        ctx.Saga.FederationId, ctx.Saga.Round, ctx.Saga.CorrelationId, ctx.Saga.Reason))
                    .IfElse(_ => atDeadline, t => t.TransitionTo(TimedOut), f => f.TransitionTo(Failed)));

    /// <summary>
    /// Asks the aggregator for the new model. The deadline is set again as a watchdog: should the
    /// request be lost (a controller dying between storing the round and publishing), the deadline
    /// asks again; the aggregator is idempotent and only its first answer counts.
    /// </summary>
    private EventActivityBinder<RoundState, T> RequestAggregation<T>(EventActivityBinder<RoundState, T> binder) where T : class =>
        binder
            .Schedule(Deadline, ctx => new RoundDeadlineReached(ctx.Saga.CorrelationId))
            .PublishAsync(ctx => ctx.Init<AggregateRound>(new AggregateRound
            {
                FederationId = ctx.Saga.FederationId,
                RoundId = ctx.Saga.CorrelationId,
                Round = ctx.Saga.Round,
                Attempt = ctx.Saga.Attempt,
                RunConfig = ctx.Saga.RunConfig,
                GlobalWeights = ctx.Saga.GlobalWeights!,
                ServerState = ctx.Saga.ServerState,
                Updates = ctx.Saga.Updates,
            }));

    private EventActivityBinder<RoundState, T> Complete<T>(EventActivityBinder<RoundState, T> binder) where T : class =>
        binder
            .PublishAsync(ctx => ctx.Init<RoundCompleted>(RoundCompletedFrom(ctx.Saga, AggregateEvaluations(ctx.Saga))))
            .TransitionTo(Completed);

    /// <summary>The evaluation reports the round collected, combined by the strategy (its aggregate-evaluate); declines carry no metrics.</summary>
    private EvaluationSummary AggregateEvaluations(RoundState saga) =>
        _strategies.For(saga.RunConfig).AggregateEvaluate(
            new RoundContext(saga.Round, saga.Attempt, saga.RunConfig),
            saga.Evaluations.Where(e => e.Metrics is not null).Select(e => new ClientEvaluation(e.WorkerId, e.Metrics!)).ToList());

    private static RoundFailed RoundFailedFrom(RoundState saga) => new()
    {
        FederationId = saga.FederationId,
        RoundId = saga.CorrelationId,
        Round = saga.Round,
        Attempt = saga.Attempt,
        Reason = saga.Reason ?? "unknown",
    };

    private static RoundCompleted RoundCompletedFrom(RoundState saga, EvaluationSummary evaluation) =>
        new()
        {
            FederationId = saga.FederationId,
            RoundId = saga.CorrelationId,
            Round = saga.Round,
            Participants = saga.Used,
            TrainLoss = saga.TrainLoss,
            EvalLoss = evaluation.Loss,
            Evaluators = evaluation.Evaluators,
            CentralizedEval = saga.CentralizedEval,
            Rejected = saga.Rejected,
            DurationMs = (DateTimeOffset.UtcNow - saga.OpenedAt).TotalMilliseconds,
            GlobalWeights = saga.NewGlobalWeights!,
            ServerState = saga.NewServerState,
        };
}
