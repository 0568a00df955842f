using MassTransit;

namespace IcosFl.Integration.Tests.Sagas;

// A small saga with a timeout, for exercising the Redis message scheduler through Schedule/Unschedule.

public sealed record ArmDeadline
{
    public required Guid TimerId { get; init; }
    public required int DelayMilliseconds { get; init; }
}

public sealed record DisarmDeadline
{
    public required Guid TimerId { get; init; }
}

/// <summary>The scheduled message.</summary>
public sealed record DeadlineExpired
{
    public required Guid TimerId { get; init; }
}

public sealed record DeadlineReached
{
    public required Guid TimerId { get; init; }
    public required DateTime ArmedAtUtc { get; init; }
    public required DateTime ReachedAtUtc { get; init; }
}

public sealed record DeadlineDisarmed
{
    public required Guid TimerId { get; init; }
}

public sealed class DeadlineState : SagaStateMachineInstance, ISagaVersion
{
    public Guid CorrelationId { get; set; }
    public int Version { get; set; }
    public string CurrentState { get; set; } = "";
    public Guid? DeadlineTokenId { get; set; }
    public DateTime ArmedAtUtc { get; set; }
}

public sealed class DeadlineStateMachine : MassTransitStateMachine<DeadlineState>
{
    public DeadlineStateMachine()
    {
        InstanceState(x => x.CurrentState);
        Event(() => Armed, e => e.CorrelateById(c => c.Message.TimerId));
        Event(() => Disarmed, e => e.CorrelateById(c => c.Message.TimerId));
        Schedule(() => Deadline, x => x.DeadlineTokenId, s =>
        {
            s.Delay = TimeSpan.FromMinutes(1);
            s.Received = r => r.CorrelateById(c => c.Message.TimerId);
        });

        Initially(
            When(Armed)
                .Then(c => c.Saga.ArmedAtUtc = DateTime.UtcNow)
                .Schedule(Deadline, c => new DeadlineExpired { TimerId = c.Saga.CorrelationId },
                    c => TimeSpan.FromMilliseconds(c.Message.DelayMilliseconds))
                .TransitionTo(Waiting));

        During(Waiting,
            When(Disarmed)
                .Unschedule(Deadline)
                .Publish(c => new DeadlineDisarmed { TimerId = c.Saga.CorrelationId })
                .TransitionTo(Off),
            When(Deadline.Received)
                .Publish(c => new DeadlineReached { TimerId = c.Saga.CorrelationId, ArmedAtUtc = c.Saga.ArmedAtUtc, ReachedAtUtc = DateTime.UtcNow })
                .TransitionTo(Reached));
    }

    public State Waiting { get; private set; } = null!;
    public State Off { get; private set; } = null!;
    public State Reached { get; private set; } = null!;
    public Event<ArmDeadline> Armed { get; private set; } = null!;
    public Event<DisarmDeadline> Disarmed { get; private set; } = null!;
    public Schedule<DeadlineState, DeadlineExpired> Deadline { get; private set; } = null!;
}

public sealed class DeadlineStateDefinition : SagaDefinition<DeadlineState>
{
    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpointConfigurator, ISagaConfigurator<DeadlineState> sagaConfigurator,
        IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Handle<ConcurrencyException>();
            r.Intervals(10, 50, 100, 250, 500);
        });
        endpointConfigurator.UseInMemoryOutbox(context);
    }
}
