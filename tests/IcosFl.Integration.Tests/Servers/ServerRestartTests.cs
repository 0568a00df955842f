using IcosFl.Infrastructure.Sagas;
using IcosFl.Infrastructure.Scheduling;
using IcosFl.Integration.Tests.Sagas;
using StackExchange.Redis;

namespace IcosFl.Integration.Tests.Servers;

/// <summary>The test Redis can be stopped and started from a test, and keeps its data like a deployed one.</summary>
[Collection(ServersCollection.Name)]
public sealed class ServerRestartTests
{
    readonly TestServers _servers;

    public ServerRestartTests(TestServers servers)
    {
        _servers = servers;
    }

    [Fact]
    public async Task Should_keep_saga_instances_and_scheduled_messages_across_a_redis_restart()
    {
        var prefix = $"icosfl-test:{Guid.NewGuid():N}:";
        var counter = new CounterState { CorrelationId = Guid.NewGuid(), CurrentState = "Counting", Count = 7 };
        var token = Guid.NewGuid();
        var due = new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        await using (var redis = await ConnectionMultiplexer.ConnectAsync(_servers.RedisConfiguration))
        {
            await new RedisSagaStore<CounterState>(redis, new RedisSagaRepositoryOptions { KeyPrefix = prefix }).InsertAsync(counter);
            await new ScheduledMessageStore(redis, new RedisMessageSchedulerOptions { KeyPrefix = prefix }).ScheduleAsync(new ScheduledMessage
            {
                TokenId = token,
                ScheduledTimeUtc = due,
                Destination = new Uri("queue:round-deadlines"),
                ContentType = "application/vnd.masstransit+json",
                Body = "{}",
            });
        }

        await _servers.Redis.StopAsync();
        await _servers.Redis.StartAsync();

        await using var restarted = await ConnectionMultiplexer.ConnectAsync(_servers.RedisConfiguration);
        var saga = await new RedisSagaStore<CounterState>(restarted, new RedisSagaRepositoryOptions { KeyPrefix = prefix }).GetAsync(counter.CorrelationId);
        var scheduled = await new ScheduledMessageStore(restarted, new RedisMessageSchedulerOptions { KeyPrefix = prefix }).GetAsync(token);
        Assert.Equal(7, saga!.Count);
        Assert.Equal(due, scheduled!.ScheduledTimeUtc);
    }
}
