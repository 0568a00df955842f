using MassTransit;
using MassTransit.Context;
using MassTransit.Middleware;
using MassTransit.Saga;

namespace IcosFl.Infrastructure.Sagas;

/// <summary>The saga repository as seen while one message is consumed.</summary>
public sealed class RedisSagaRepositoryContext<TSaga, TMessage> :
    ConsumeContextScope<TMessage>,
    SagaRepositoryContext<TSaga, TMessage>
    where TSaga : class, ISagaVersion
    where TMessage : class
{
    readonly RedisSagaStore<TSaga> _store;
    readonly ConsumeContext<TMessage> _context;
    readonly ISagaConsumeContextFactory<RedisSagaStore<TSaga>, TSaga> _factory;

    public RedisSagaRepositoryContext(RedisSagaStore<TSaga> store, ConsumeContext<TMessage> context,
        ISagaConsumeContextFactory<RedisSagaStore<TSaga>, TSaga> factory)
        : base(context)
    {
        _store = store;
        _context = context;
        _factory = factory;
    }

    /// <summary>A new instance that is written only after the message was handled (see <see cref="Save"/>).</summary>
    public Task<SagaConsumeContext<TSaga, TMessage>> Add(TSaga instance) =>
        _factory.CreateSagaConsumeContext(_store, _context, instance, SagaConsumeContextMode.Add);

    /// <summary>Writes a new instance before the message is handled; null when it already exists (MassTransit then loads it).</summary>
    public async Task<SagaConsumeContext<TSaga, TMessage>> Insert(TSaga instance)
    {
        if (!await _store.InsertAsync(instance).ConfigureAwait(false))
            return null!; // SagaRepositoryContext's contract: null means "not inserted", MassTransit loads instead
        return await _factory.CreateSagaConsumeContext(_store, _context, instance, SagaConsumeContextMode.Insert).ConfigureAwait(false);
    }

    public async Task<SagaConsumeContext<TSaga, TMessage>> Load(Guid correlationId)
    {
        var instance = await _store.GetAsync(correlationId).ConfigureAwait(false);
        if (instance is null)
            return null!; // null means "no such instance": MassTransit applies the saga's missing-instance policy
        return await _factory.CreateSagaConsumeContext(_store, _context, instance, SagaConsumeContextMode.Load).ConfigureAwait(false);
    }

    /// <summary>
    /// Stores an instance created by <see cref="Add"/>. When another message created the same instance
    /// meanwhile, throws <see cref="ConcurrencyException"/> so the retry handles this message as an update.
    /// </summary>
    public async Task Save(SagaConsumeContext<TSaga> context)
    {
        if (!await _store.InsertAsync(context.Saga).ConfigureAwait(false))
        {
            throw new ConcurrencyException(
                $"Saga {_store.SagaTypeName} {context.Saga.CorrelationId:D}: another message created it first.",
                typeof(TSaga), context.Saga.CorrelationId);
        }
    }

    public Task Update(SagaConsumeContext<TSaga> context) => _store.UpdateAsync(context.Saga);

    public Task Delete(SagaConsumeContext<TSaga> context) => _store.CompleteAsync(context.Saga);

    // Nothing was written for an added instance that completed at once, nor for a read-only policy.
    public Task Discard(SagaConsumeContext<TSaga> context) => Task.CompletedTask;

    public Task Undo(SagaConsumeContext<TSaga> context) => Task.CompletedTask;

    public Task<SagaConsumeContext<TSaga, T>> CreateSagaConsumeContext<T>(ConsumeContext<T> consumeContext, TSaga instance, SagaConsumeContextMode mode)
        where T : class =>
        _factory.CreateSagaConsumeContext(_store, consumeContext, instance, mode);
}

/// <summary>The saga repository outside message handling: loads by CorrelationId.</summary>
public sealed class RedisLoadSagaRepositoryContext<TSaga> :
    BasePipeContext,
    LoadSagaRepositoryContext<TSaga>
    where TSaga : class, ISagaVersion
{
    readonly RedisSagaStore<TSaga> _store;

    public RedisLoadSagaRepositoryContext(RedisSagaStore<TSaga> store, CancellationToken cancellationToken)
        : base(cancellationToken)
    {
        _store = store;
    }

    public Task<TSaga> Load(Guid correlationId) => _store.GetAsync(correlationId)!;
}
