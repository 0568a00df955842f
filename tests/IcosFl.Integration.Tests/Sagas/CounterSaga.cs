using MassTransit;

namespace IcosFl.Integration.Tests.Sagas;

// A small saga for exercising the Redis repository: it counts distinct submitters.

public sealed record SubmissionReceived
{
    public required Guid CounterId { get; init; }
    public required string SubmitterId { get; init; }
}

public sealed record SubmissionCounted
{
    public required Guid CounterId { get; init; }
    public required string SubmitterId { get; init; }
    public required int Count { get; init; }
}

public sealed record CloseCounter
{
    public required Guid CounterId { get; init; }
}

public sealed record CounterClosed
{
    public required Guid CounterId { get; init; }
    public required int Count { get; init; }
}

public sealed class CounterState : SagaStateMachineInstance, ISagaVersion
{
    public Guid CorrelationId { get; set; }
    public int Version { get; set; }
    public string CurrentState { get; set; } = "";
    public int Count { get; set; }
    public List<string> Submitters { get; set; } = [];
}

public sealed class CounterStateMachine : MassTransitStateMachine<CounterState>
{
    public CounterStateMachine()
    {
        InstanceState(x => x.CurrentState);
        Event(() => Submitted, e => e.CorrelateById(c => c.Message.CounterId));
        Event(() => Closed, e => e.CorrelateById(c => c.Message.CounterId));

        Initially(
            When(Submitted)
                .Then(Count)
                .Publish(c => new SubmissionCounted { CounterId = c.Saga.CorrelationId, SubmitterId = c.Message.SubmitterId, Count = c.Saga.Count })
                .TransitionTo(Counting));

        During(Counting,
            When(Submitted, c => !c.Saga.Submitters.Contains(c.Message.SubmitterId))
                .Then(Count)
                .Publish(c => new SubmissionCounted { CounterId = c.Saga.CorrelationId, SubmitterId = c.Message.SubmitterId, Count = c.Saga.Count }),
            Ignore(Submitted),
            When(Closed)
                .Publish(c => new CounterClosed { CounterId = c.Saga.CorrelationId, Count = c.Saga.Count })
                .Finalize());

        SetCompletedWhenFinalized();
    }

    public State Counting { get; private set; } = null!;
    public Event<SubmissionReceived> Submitted { get; private set; } = null!;
    public Event<CloseCounter> Closed { get; private set; } = null!;

    static void Count(BehaviorContext<CounterState, SubmissionReceived> context)
    {
        context.Saga.Submitters.Add(context.Message.SubmitterId);
        context.Saga.Count++;
    }
}

/// <summary>
/// Many messages for one instance at once: conflicting updates fail with ConcurrencyException and
/// are retried on fresh state; the outbox holds publishes back until the instance was written.
/// </summary>
public sealed class CounterStateDefinition : SagaDefinition<CounterState>
{
    public CounterStateDefinition()
    {
        ConcurrentMessageLimit = 16;
    }

    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpointConfigurator, ISagaConfigurator<CounterState> sagaConfigurator,
        IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Handle<ConcurrencyException>();
            r.Exponential(30, TimeSpan.FromMilliseconds(2), TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(5));
            if (context.GetService(typeof(ConcurrencyRetries)) is ConcurrencyRetries retries)
                r.ConnectRetryObserver(retries);
        });
        endpointConfigurator.UseInMemoryOutbox(context);
    }
}

/// <summary>Counts retries caused by optimistic-concurrency conflicts (so a test can show there were some).</summary>
public sealed class ConcurrencyRetries : IRetryObserver
{
    int _count;

    public int Count => Volatile.Read(ref _count);

    public Task PreRetry<T>(RetryContext<T> context)
        where T : class, PipeContext
    {
        if (context.Exception is ConcurrencyException)
            Interlocked.Increment(ref _count);
        return Task.CompletedTask;
    }

    public Task PostCreate<T>(RetryPolicyContext<T> context)
        where T : class, PipeContext => Task.CompletedTask;

    public Task PostFault<T>(RetryContext<T> context)
        where T : class, PipeContext => Task.CompletedTask;

    public Task RetryFault<T>(RetryContext<T> context)
        where T : class, PipeContext => Task.CompletedTask;

    public Task RetryComplete<T>(RetryContext<T> context)
        where T : class, PipeContext => Task.CompletedTask;
}
