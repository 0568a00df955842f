using IcosFl.Infrastructure.Sagas;
using IcosFl.Infrastructure.Scheduling;
using IcosFl.Integration.Tests.Sagas;
using IcosFl.Integration.Tests.Servers;
using MassTransit;
using MassTransit.Scheduling;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace IcosFl.Integration.Tests.Scheduling;

/// <summary>
/// A state machine's Schedule/Unschedule through the Redis scheduler: sagas and scheduled messages in
/// the real Redis, the bus in memory (the scheduler does not depend on the transport) or on RabbitMQ.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class RedisMessageSchedulerTests
{
    static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    // A scheduled message is sent when its time has come, rounded to whole milliseconds in Redis.
    static readonly TimeSpan Rounding = TimeSpan.FromMilliseconds(2);

    readonly TestServers _servers;
    readonly string _prefix = $"icosfl-test:{Guid.NewGuid():N}:";
    readonly string _schedulerQueue = $"icosfl-scheduler-{Guid.NewGuid():N}";
    readonly MessageRecorder<DeadlineReached> _reached = new();
    readonly MessageRecorder<DeadlineDisarmed> _disarmed = new();
    readonly MessageRecorder<ReceivedDeadline> _expiredDirect = new();

    public RedisMessageSchedulerTests(TestServers servers)
    {
        _servers = servers;
    }

    Task<IHost> StartController(BusTransport transport = BusTransport.InMemory, string? endpointPrefix = null, TimeProvider? clock = null,
        TimeSpan? idlePollInterval = null) =>
        TestBus.StartAsync(_servers, transport, x =>
            {
                x.AddSagaStateMachine<DeadlineStateMachine, DeadlineState, DeadlineStateDefinition>().RedisRepository(o => o.KeyPrefix = _prefix);
                x.AddRedisMessageScheduler(o =>
                {
                    o.KeyPrefix = _prefix;
                    o.QueueName = _schedulerQueue;
                    o.PollInterval = PollInterval;
                    if (idlePollInterval is { } idle)
                        o.IdlePollInterval = idle;
                });
                x.AddConsumer<RecordingConsumer<DeadlineReached>>();
                x.AddConsumer<RecordingConsumer<DeadlineDisarmed>>();
            },
            useRedisScheduler: true,
            endpointPrefix: endpointPrefix,
            services: s =>
            {
                s.AddSingleton(_reached).AddSingleton(_disarmed);
                if (clock is not null)
                    s.AddSingleton(clock);
            });

    ScheduledMessageStore SchedulerStore(IHost host) => host.Services.GetRequiredService<ScheduledMessageStore>();

    RedisSagaStore<DeadlineState> Sagas(IHost host) => host.Services.GetRequiredService<RedisSagaStore<DeadlineState>>();

    [Fact]
    public async Task Should_fire_a_saga_schedule_when_it_is_due()
    {
        var host = await StartController();
        try
        {
            var timerId = Guid.NewGuid();
            var delay = TimeSpan.FromMilliseconds(800);

            await host.Services.GetRequiredService<IBus>().Publish(new ArmDeadline { TimerId = timerId, DelayMilliseconds = (int)delay.TotalMilliseconds });
            var reached = Assert.Single(await _reached.WaitUntilAsync(m => m.Count == 1, Patience, "DeadlineReached"));

            var elapsed = reached.ReachedAtUtc - reached.ArmedAtUtc;
            Assert.Equal(timerId, reached.TimerId);
            Assert.InRange(elapsed, delay - Rounding, delay + PollInterval + TimeSpan.FromSeconds(2));
            var saga = await Sagas(host).GetAsync(timerId);
            Assert.Equal("Reached", saga!.CurrentState);
            Assert.Null(saga.DeadlineTokenId);
            Assert.Equal(0, await SchedulerStore(host).CountAsync());
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Should_not_send_a_deadline_that_the_saga_unscheduled()
    {
        var host = await StartController();
        var delivered = new DeliveryRecorder<DeadlineExpired>();
        var armed = new DeliveryRecorder<ArmDeadline>();
        try
        {
            var bus = host.Services.GetRequiredService<IBus>();
            bus.ConnectConsumeMessageObserver(delivered);
            bus.ConnectConsumeMessageObserver(armed);
            var cancelled = Guid.NewGuid();
            var kept = Guid.NewGuid();

            await bus.Publish(new ArmDeadline { TimerId = cancelled, DelayMilliseconds = 3000 }); // time enough to disarm it on a loaded machine
            await armed.Delivered.WaitUntilAsync(m => m.Count == 1, Patience, "the saga to take ArmDeadline");
            await bus.Publish(new DisarmDeadline { TimerId = cancelled });
            await _disarmed.WaitUntilAsync(m => m.Count == 1, Patience, "DeadlineDisarmed");
            var cancelledSaga = (await Sagas(host).GetAsync(cancelled))!;
            // A later deadline: once it has fired, the cancelled (earlier) one would have fired too.
            await bus.Publish(new ArmDeadline { TimerId = kept, DelayMilliseconds = 3700 });
            await _reached.WaitUntilAsync(m => m.Count == 1, Patience, "the kept DeadlineReached");
            await delivered.Delivered.WaitUntilAsync(m => m.Any(d => d.TimerId == kept), Patience, "the kept DeadlineExpired delivery");

            Assert.Equal(kept, Assert.Single(_reached.Messages).TimerId);
            Assert.Equal([kept], delivered.Delivered.Messages.Select(m => m.TimerId));
            Assert.Equal("Off", cancelledSaga.CurrentState);
            Assert.Null(cancelledSaga.DeadlineTokenId);
            Assert.Equal(0, await SchedulerStore(host).CountAsync());
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Should_fire_a_deadline_scheduled_before_the_controller_restarted()
    {
        var timerId = Guid.NewGuid();
        var delay = TimeSpan.FromMilliseconds(1500);
        var stored = new DeliveryRecorder<ScheduleMessage>();

        var first = await StartController();
        try
        {
            var bus = first.Services.GetRequiredService<IBus>();
            bus.ConnectConsumeMessageObserver(stored);
            await bus.Publish(new ArmDeadline { TimerId = timerId, DelayMilliseconds = (int)delay.TotalMilliseconds });
            await stored.Delivered.WaitUntilAsync(m => m.Count == 1, Patience, "the ScheduleMessage command to be stored");
        }
        finally
        {
            await first.StopAsync();
        }

        var second = await StartController();
        try
        {
            Assert.Empty(_reached.Messages);
            var reached = Assert.Single(await _reached.WaitUntilAsync(m => m.Count == 1, Patience, "DeadlineReached after the restart"));

            Assert.Equal(timerId, reached.TimerId);
            Assert.InRange(reached.ReachedAtUtc - reached.ArmedAtUtc, delay - Rounding, delay + PollInterval + TimeSpan.FromSeconds(3));
            Assert.Equal("Reached", (await Sagas(second).GetAsync(timerId))!.CurrentState);
            Assert.Equal(0, await SchedulerStore(second).CountAsync());
        }
        finally
        {
            await second.StopAsync();
        }
    }

    [Fact]
    public async Task An_idle_dispatcher_is_woken_by_a_schedule_and_fires_it_on_time()
    {
        // Idle polls every 60 s at most: only the wake-up from the store can make the deadline fire on time.
        var host = await StartController(idlePollInterval: TimeSpan.FromSeconds(60));
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1)); // the dispatcher has polled, found nothing and sleeps
            var timerId = Guid.NewGuid();
            var delay = TimeSpan.FromMilliseconds(800);

            await host.Services.GetRequiredService<IBus>().Publish(new ArmDeadline { TimerId = timerId, DelayMilliseconds = (int)delay.TotalMilliseconds });
            var reached = Assert.Single(await _reached.WaitUntilAsync(m => m.Count == 1, Patience, "DeadlineReached"));

            Assert.Equal(timerId, reached.TimerId);
            Assert.InRange(reached.ReachedAtUtc - reached.ArmedAtUtc, delay - Rounding, delay + PollInterval + TimeSpan.FromSeconds(2));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_deadline_another_process_stored_fires_within_the_idle_poll_interval()
    {
        var idle = TimeSpan.FromSeconds(3);
        // Sends nothing itself (its clock is an hour behind), and is not told of the other's schedules: only its idle polls find them.
        var sender = await StartController(idlePollInterval: idle);
        var storer = await StartController(clock: new ClockAnHourBehind());
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1)); // the sender's dispatcher has polled, found nothing and sleeps
            var timerId = Guid.NewGuid();
            var delay = TimeSpan.FromMilliseconds(500);

            await storer.Services.GetRequiredService<IBus>().Publish(new ArmDeadline { TimerId = timerId, DelayMilliseconds = (int)delay.TotalMilliseconds });
            var reached = Assert.Single(await _reached.WaitUntilAsync(m => m.Count == 1, Patience, "DeadlineReached"));

            Assert.Equal(timerId, reached.TimerId);
            Assert.InRange(reached.ReachedAtUtc - reached.ArmedAtUtc, delay - Rounding, idle + TimeSpan.FromSeconds(2));
        }
        finally
        {
            await storer.StopAsync();
            await sender.StopAsync();
        }
    }

    [Fact]
    public async Task Should_fire_at_once_a_deadline_that_passed_while_no_controller_ran()
    {
        var timerId = Guid.NewGuid();
        var stored = new DeliveryRecorder<ScheduleMessage>();

        // This controller's dispatcher lives an hour in the past, so it never sees the deadline due.
        var first = await StartController(clock: new ClockAnHourBehind());
        try
        {
            var bus = first.Services.GetRequiredService<IBus>();
            bus.ConnectConsumeMessageObserver(stored);
            await bus.Publish(new ArmDeadline { TimerId = timerId, DelayMilliseconds = 1 });
            await stored.Delivered.WaitUntilAsync(m => m.Count == 1, Patience, "the ScheduleMessage command to be stored");
        }
        finally
        {
            await first.StopAsync();
        }

        var startedAt = DateTime.UtcNow;
        var second = await StartController();
        try
        {
            var reached = Assert.Single(await _reached.WaitUntilAsync(m => m.Count == 1, Patience, "the overdue DeadlineReached"));

            Assert.Equal(timerId, reached.TimerId);
            Assert.True(stored.Delivered.Messages[0].ScheduledTime < startedAt, "the deadline was not yet overdue when the second controller started");
            Assert.InRange(reached.ReachedAtUtc - startedAt, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        }
        finally
        {
            await second.StopAsync();
        }
    }

    [Fact]
    public async Task Should_fire_a_saga_schedule_over_rabbitmq()
    {
        var host = await StartController(BusTransport.RabbitMq, endpointPrefix: $"t{Guid.NewGuid():N}"[..9]);
        try
        {
            var timerId = Guid.NewGuid();
            var delay = TimeSpan.FromMilliseconds(1000);

            await host.Services.GetRequiredService<IBus>().Publish(new ArmDeadline { TimerId = timerId, DelayMilliseconds = (int)delay.TotalMilliseconds });
            var reached = Assert.Single(await _reached.WaitUntilAsync(m => m.Count == 1, Patience, "DeadlineReached over RabbitMQ"));

            Assert.Equal(timerId, reached.TimerId);
            Assert.InRange(reached.ReachedAtUtc - reached.ArmedAtUtc, delay - Rounding, delay + PollInterval + TimeSpan.FromSeconds(3));
            Assert.Equal("Reached", (await Sagas(host).GetAsync(timerId))!.CurrentState);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Should_deliver_a_message_scheduled_through_IMessageScheduler_with_its_headers()
    {
        var host = await TestBus.StartAsync(_servers, BusTransport.InMemory, x =>
            {
                x.AddRedisMessageScheduler(o =>
                {
                    o.KeyPrefix = _prefix;
                    o.QueueName = _schedulerQueue;
                    o.PollInterval = PollInterval;
                });
                x.AddConsumer<HeaderReadingConsumer>();
            },
            useRedisScheduler: true,
            services: s => s.AddSingleton(_expiredDirect));
        try
        {
            var scheduler = host.Services.GetRequiredService<IMessageScheduler>();
            var timerId = Guid.NewGuid();
            var scheduledAt = DateTime.UtcNow;

            await scheduler.SchedulePublish(scheduledAt.AddMilliseconds(300), new DeadlineExpired { TimerId = timerId },
                Pipe.Execute<SendContext>(c => c.Headers.Set("x-round", "7")));
            var delivered = Assert.Single(await _expiredDirect.WaitUntilAsync(m => m.Count == 1, Patience, "the scheduled DeadlineExpired"));

            Assert.Equal(timerId, delivered.Message.TimerId);
            Assert.Equal("7", delivered.Round);
            Assert.True(DateTime.UtcNow - scheduledAt >= TimeSpan.FromMilliseconds(300) - Rounding);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Should_give_up_on_a_send_the_broker_never_takes_and_send_it_again()
    {
        // The first send of the due message hangs as a send waiting for a confirm that never comes (the broker went
        // away under it). The dispatcher must give up on it at half the claim timeout and send it again, not wait for
        // good and stop every later deadline.
        var claimTimeout = TimeSpan.FromSeconds(2);
        var hanging = new HangingSends(destination => destination.AbsolutePath.Contains(nameof(DeadlineExpired), StringComparison.Ordinal), times: 1);
        var host = await TestBus.StartAsync(_servers, BusTransport.InMemory, x =>
            {
                x.AddRedisMessageScheduler(o =>
                {
                    o.KeyPrefix = _prefix;
                    o.QueueName = _schedulerQueue;
                    o.PollInterval = PollInterval;
                    o.ClaimTimeout = claimTimeout;
                });
                x.AddConsumer<HeaderReadingConsumer>();
            },
            useRedisScheduler: true,
            services: s => s.AddSingleton(_expiredDirect),
            bus: cfg => cfg.ConfigureSend(send => send.UseFilter(hanging)));
        try
        {
            var timerId = Guid.NewGuid();
            await host.Services.GetRequiredService<IMessageScheduler>()
                .SchedulePublish(DateTime.UtcNow.AddMilliseconds(100), new DeadlineExpired { TimerId = timerId });

            var delivered = Assert.Single(await _expiredDirect.WaitUntilAsync(m => m.Count == 1, Patience, "the DeadlineExpired sent again"));
            Assert.Equal(timerId, delivered.Message.TimerId);
            var held = Assert.Single(hanging.Held);
            Assert.InRange(held, claimTimeout / 2 - TimeSpan.FromMilliseconds(50), claimTimeout * 3);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    /// <summary>Holds the first <c>times</c> sends to a matching destination until the sender gives up on them.</summary>
    sealed class HangingSends(Func<Uri, bool> matches, int times) : IFilter<SendContext>
    {
        int _seen;
        readonly List<TimeSpan> _held = [];

        public IReadOnlyList<TimeSpan> Held
        {
            get { lock (_held) return _held.ToList(); }
        }

        public async Task Send(SendContext context, IPipe<SendContext> next)
        {
            if (context.DestinationAddress is { } destination && matches(destination) && Interlocked.Increment(ref _seen) <= times)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                try
                {
                    await Task.Delay(Timeout.Infinite, context.CancellationToken);
                }
                finally
                {
                    lock (_held)
                        _held.Add(clock.Elapsed);
                }
            }
            await next.Send(context);
        }

        public void Probe(ProbeContext context) => context.CreateFilterScope("hangingSends");
    }

    sealed class ClockAnHourBehind : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow().AddHours(-1);
    }

    public sealed record ReceivedDeadline(DeadlineExpired Message, string? Round);

    public sealed class HeaderReadingConsumer : IConsumer<DeadlineExpired>
    {
        readonly MessageRecorder<ReceivedDeadline> _recorder;

        public HeaderReadingConsumer(MessageRecorder<ReceivedDeadline> recorder)
        {
            _recorder = recorder;
        }

        public Task Consume(ConsumeContext<DeadlineExpired> context)
        {
            _recorder.Record(new ReceivedDeadline(context.Message, context.Headers.Get<string>("x-round")));
            return Task.CompletedTask;
        }
    }
}
