using MassTransit;
using MassTransit.Saga;

namespace IcosFl.Infrastructure.Sagas;

/// <summary>
/// MassTransit's entry into the Redis saga store: one repository context per consumed message
/// (load, insert, update, complete), and plain loads for <c>ILoadSagaRepository</c>.
/// Correlation is by CorrelationId only; expression queries are refused with a clear message.
/// </summary>
public sealed class RedisSagaRepositoryContextFactory<TSaga> :
    ISagaRepositoryContextFactory<TSaga>,
    ILoadSagaRepositoryContextFactory<TSaga>
    where TSaga : class, ISagaVersion
{
    readonly RedisSagaStore<TSaga> _store;
    readonly ISagaConsumeContextFactory<RedisSagaStore<TSaga>, TSaga> _factory;

    public RedisSagaRepositoryContextFactory(RedisSagaStore<TSaga> store, ISagaConsumeContextFactory<RedisSagaStore<TSaga>, TSaga> factory)
    {
        _store = store;
        _factory = factory;
    }

    public void Probe(ProbeContext context)
    {
        context.Add("persistence", "redis");
        context.Add("sagaType", _store.SagaTypeName);
    }

    public Task Send<T>(ConsumeContext<T> context, IPipe<SagaRepositoryContext<TSaga, T>> next)
        where T : class =>
        next.Send(new RedisSagaRepositoryContext<TSaga, T>(_store, context, _factory));

    public Task SendQuery<T>(ConsumeContext<T> context, ISagaQuery<TSaga> query, IPipe<SagaRepositoryQueryContext<TSaga, T>> next)
        where T : class =>
        throw new NotSupportedException(
            $"The Redis saga repository correlates {typeof(TSaga).Name} by CorrelationId only, but {typeof(T).Name} is correlated by an expression. "
            + "Correlate the event with CorrelateById(...).");

    public Task<T> Execute<T>(Func<LoadSagaRepositoryContext<TSaga>, Task<T>> asyncMethod, CancellationToken cancellationToken = default)
        where T : class =>
        asyncMethod(new RedisLoadSagaRepositoryContext<TSaga>(_store, cancellationToken));
}
