using IcosFl.Infrastructure.Sagas;
using IcosFl.Integration.Tests.Servers;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace IcosFl.Integration.Tests.Sagas;

/// <summary>A state machine on the in-memory transport whose instances live in the real Redis.</summary>
[Collection(ServersCollection.Name)]
public sealed class RedisSagaRepositoryTests
{
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    readonly TestServers _servers;
    readonly string _prefix = $"icosfl-test:{Guid.NewGuid():N}:";
    readonly MessageRecorder<SubmissionCounted> _counted = new();
    readonly MessageRecorder<CounterClosed> _closed = new();
    readonly ConcurrencyRetries _retries = new();

    public RedisSagaRepositoryTests(TestServers servers)
    {
        _servers = servers;
    }

    Task<IHost> StartBus(Action<IBusRegistrationConfigurator> addSaga) =>
        TestBus.StartAsync(_servers, BusTransport.InMemory, x =>
        {
            addSaga(x);
            x.AddConsumer<RecordingConsumer<SubmissionCounted>>();
            x.AddConsumer<RecordingConsumer<CounterClosed>>();
        }, services: s => s.AddSingleton(_counted).AddSingleton(_closed).AddSingleton(_retries));

    [Fact]
    public async Task Should_count_fifty_concurrent_submissions_exactly_once()
    {
        var host = await StartBus(x => x.AddSagaStateMachine<CounterStateMachine, CounterState, CounterStateDefinition>()
            .RedisRepository(o => o.KeyPrefix = _prefix));
        try
        {
            var counterId = Guid.NewGuid();
            var bus = host.Services.GetRequiredService<IBus>();
            var submitters = Enumerable.Range(1, 50).Select(i => $"worker-{i:00}").ToList();

            await Task.WhenAll(submitters.Select(s => bus.Publish(new SubmissionReceived { CounterId = counterId, SubmitterId = s })));
            var counted = await _counted.WaitUntilAsync(m => m.Count >= 50, Patience, "50 SubmissionCounted events");

            // Every count 1..50 announced once: no update was lost and none applied twice.
            Assert.Equal(Enumerable.Range(1, 50), counted.Select(m => m.Count).Order());
            Assert.Equal(submitters, counted.Select(m => m.SubmitterId).Order());
            var store = host.Services.GetRequiredService<RedisSagaStore<CounterState>>();
            var state = await store.GetAsync(counterId);
            Assert.NotNull(state);
            Assert.Equal(50, state.Count);
            Assert.Equal(submitters, state.Submitters.Order());
            Assert.Equal(50, state.Version); // inserted as 1, then 49 updates
            Assert.Equal("Counting", state.CurrentState);
            Assert.True(_retries.Count > 0, "the submissions never collided, so the test did not exercise the version check");
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Should_ignore_a_duplicate_submission()
    {
        var host = await StartBus(x => x.AddSagaStateMachine<CounterStateMachine, CounterState, CounterStateDefinition>()
            .RedisRepository(o => o.KeyPrefix = _prefix));
        try
        {
            var counterId = Guid.NewGuid();
            var bus = host.Services.GetRequiredService<IBus>();
            var consumed = new DeliveryRecorder<SubmissionReceived>();
            bus.ConnectConsumeMessageObserver(consumed);

            await bus.Publish(new SubmissionReceived { CounterId = counterId, SubmitterId = "a" });
            await _counted.WaitUntilAsync(m => m.Count == 1, Patience, "the first count");
            await bus.Publish(new SubmissionReceived { CounterId = counterId, SubmitterId = "a" });
            // The duplicate settled (ignored) before anything else: racing "b" it could lose the version check,
            // retry after a back-off, and find the instance already closed and removed (a new counter at 1).
            await consumed.Delivered.WaitUntilAsync(m => m.Count(s => s.SubmitterId == "a") == 2, Patience, "the duplicate handled");
            await bus.Publish(new SubmissionReceived { CounterId = counterId, SubmitterId = "b" });
            await _counted.WaitUntilAsync(m => m.Any(c => c.SubmitterId == "b"), Patience, "b's count");
            await bus.Publish(new CloseCounter { CounterId = counterId });
            var closed = await _closed.WaitUntilAsync(m => m.Count == 1, Patience, "CounterClosed");

            Assert.Equal(2, closed[0].Count);
            Assert.Equal([1, 2], _counted.Messages.Select(m => m.Count));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Should_delete_the_instance_when_the_state_machine_finalizes()
    {
        var host = await StartBus(x => x.AddSagaStateMachine<CounterStateMachine, CounterState, CounterStateDefinition>()
            .RedisRepository(o => o.KeyPrefix = _prefix));
        try
        {
            var counterId = Guid.NewGuid();
            var bus = host.Services.GetRequiredService<IBus>();
            var store = host.Services.GetRequiredService<RedisSagaStore<CounterState>>();
            await bus.Publish(new SubmissionReceived { CounterId = counterId, SubmitterId = "a" });
            await _counted.WaitUntilAsync(m => m.Count == 1, Patience, "the first count");
            Assert.NotNull(await store.GetAsync(counterId));

            await bus.Publish(new CloseCounter { CounterId = counterId });
            // The outbox publishes CounterClosed only after the repository finished with the instance.
            await _closed.WaitUntilAsync(m => m.Count == 1, Patience, "CounterClosed");

            Assert.Null(await store.GetAsync(counterId));
            Assert.Empty(await store.ListAsync());
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Should_keep_sagas_in_redis_through_the_repository_provider()
    {
        var host = await StartBus(x =>
        {
            x.SetRedisSagaRepositoryProvider(o => o.KeyPrefix = _prefix);
            x.AddSagaStateMachine<CounterStateMachine, CounterState, CounterStateDefinition>();
        });
        try
        {
            var counterId = Guid.NewGuid();
            var bus = host.Services.GetRequiredService<IBus>();
            await bus.Publish(new SubmissionReceived { CounterId = counterId, SubmitterId = "a" });
            await _counted.WaitUntilAsync(m => m.Count == 1, Patience, "the first count");

            var store = new RedisSagaStore<CounterState>(
                host.Services.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>(), new RedisSagaRepositoryOptions { KeyPrefix = _prefix });
            var state = await store.GetAsync(counterId);
            Assert.Equal(["a"], state!.Submitters);
            Assert.Equal(1, state.Version);
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
