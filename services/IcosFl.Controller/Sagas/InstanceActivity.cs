using MassTransit;

namespace IcosFl.Controller.Sagas;

/// <summary>
/// A saga activity that works on the instance alone, whatever event brought it there: MassTransit's plumbing
/// (both Execute overloads, Faulted passed on, Probe, Accept) in one place, the work in <see cref="Run"/>.
/// </summary>
public abstract class InstanceActivity<TSaga> : IStateMachineActivity<TSaga> where TSaga : class, SagaStateMachineInstance
{
    /// <summary>The activity's name in MassTransit's probe output.</summary>
    protected abstract string Name { get; }

    protected abstract Task Run(BehaviorContext<TSaga> context);

    public async Task Execute(BehaviorContext<TSaga> context, IBehavior<TSaga> next)
    {
        await Run(context);
        await next.Execute(context);
    }

    public async Task Execute<T>(BehaviorContext<TSaga, T> context, IBehavior<TSaga, T> next) where T : class
    {
        await Run(context);
        await next.Execute(context);
    }

    public Task Faulted<TException>(BehaviorExceptionContext<TSaga, TException> context, IBehavior<TSaga> next)
        where TException : Exception => next.Faulted(context);

    public Task Faulted<T, TException>(BehaviorExceptionContext<TSaga, T, TException> context, IBehavior<TSaga, T> next)
        where T : class where TException : Exception => next.Faulted(context);

    public void Probe(ProbeContext context) => context.CreateScope(Name);

    public void Accept(StateMachineVisitor visitor) => visitor.Visit(this);
}
