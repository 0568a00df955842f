using System.Text.Json;
using IcosFl.Infrastructure.Scheduling;
using IcosFl.Integration.Tests.Servers;
using StackExchange.Redis;

namespace IcosFl.Integration.Tests.Scheduling;

[Collection(ServersCollection.Name)]
public sealed class ScheduledMessageStoreTests : IAsyncLifetime
{
    static readonly DateTime Now = new(2026, 11, 28, 12, 0, 0, DateTimeKind.Utc);
    static readonly TimeSpan ClaimTimeout = TimeSpan.FromSeconds(30);

    readonly TestServers _servers;
    ConnectionMultiplexer _redis = null!;
    ScheduledMessageStore _store = null!;

    public ScheduledMessageStoreTests(TestServers servers)
    {
        _servers = servers;
    }

    public async Task InitializeAsync()
    {
        _redis = await ConnectionMultiplexer.ConnectAsync(_servers.RedisConfiguration);
        _store = new ScheduledMessageStore(_redis, new RedisMessageSchedulerOptions { KeyPrefix = $"icosfl-test:{Guid.NewGuid():N}:" });
    }

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    static ScheduledMessage Message(DateTime due, Guid? token = null) => new()
    {
        TokenId = token ?? Guid.NewGuid(),
        ScheduledTimeUtc = due,
        Destination = new Uri("queue:somewhere"),
        ContentType = "application/vnd.masstransit+json",
        Body = "{}",
        Headers = new() { ["x-round"] = JsonSerializer.SerializeToElement(3) },
    };

    [Fact]
    public async Task Should_hand_out_only_messages_that_are_due()
    {
        var due = Message(Now.AddSeconds(-1));
        var exactlyNow = Message(Now);
        var later = Message(Now.AddMilliseconds(1));
        foreach (var message in new[] { due, exactlyNow, later })
            await _store.ScheduleAsync(message);

        var claimed = await _store.ClaimDueAsync(Now, ClaimTimeout, 100);

        Assert.Equal(new[] { due.TokenId, exactlyNow.TokenId }.Order(), claimed.Select(c => c.Message.TokenId).Order());
        Assert.Equal(3, claimed[0].Message.Headers["x-round"].GetInt32());
    }

    [Fact]
    public async Task Should_never_hand_one_message_to_two_dispatchers()
    {
        var messages = Enumerable.Range(0, 200).Select(i => Message(Now.AddMilliseconds(-i))).ToList();
        await Task.WhenAll(messages.Select(_store.ScheduleAsync));

        async Task<List<Guid>> Dispatcher()
        {
            var taken = new List<Guid>();
            while (true)
            {
                var batch = await _store.ClaimDueAsync(Now, ClaimTimeout, 7);
                if (batch.Count == 0)
                    return taken;
                taken.AddRange(batch.Select(c => c.Message.TokenId));
            }
        }

        var results = await Task.WhenAll(Dispatcher(), Dispatcher(), Dispatcher());

        var all = results.SelectMany(r => r).ToList();
        Assert.Equal(200, all.Count);
        Assert.Equal(messages.Select(m => m.TokenId).Order(), all.Order());
    }

    [Fact]
    public async Task Should_hand_out_again_a_message_whose_dispatcher_died_after_the_claim_timeout()
    {
        var message = Message(Now);
        await _store.ScheduleAsync(message);
        await _store.ClaimDueAsync(Now, ClaimTimeout, 10);

        var beforeTimeout = await _store.ClaimDueAsync(Now + ClaimTimeout - TimeSpan.FromMilliseconds(1), ClaimTimeout, 10);
        var afterTimeout = await _store.ClaimDueAsync(Now + ClaimTimeout, ClaimTimeout, 10);

        Assert.Empty(beforeTimeout);
        Assert.Equal(message.TokenId, Assert.Single(afterTimeout).Message.TokenId);
    }

    [Fact]
    public async Task Should_forget_a_message_once_it_was_sent()
    {
        var message = Message(Now);
        await _store.ScheduleAsync(message);
        var claimed = Assert.Single(await _store.ClaimDueAsync(Now, ClaimTimeout, 10));

        Assert.True(await _store.CompleteAsync(claimed));

        Assert.Equal(0, await _store.CountAsync());
        Assert.Empty(await _store.ClaimDueAsync(Now + ClaimTimeout * 2, ClaimTimeout, 10));
    }

    [Fact]
    public async Task Should_keep_a_message_rescheduled_while_the_old_one_was_being_sent()
    {
        var token = Guid.NewGuid();
        await _store.ScheduleAsync(Message(Now, token));
        var claimed = Assert.Single(await _store.ClaimDueAsync(Now, ClaimTimeout, 10));
        await _store.ScheduleAsync(Message(Now.AddMinutes(5), token));

        Assert.False(await _store.CompleteAsync(claimed));

        Assert.Equal(Now.AddMinutes(5), (await _store.GetAsync(token))!.ScheduledTimeUtc);
    }

    [Fact]
    public async Task Should_cancel_by_token()
    {
        var message = Message(Now);
        await _store.ScheduleAsync(message);

        Assert.True(await _store.CancelAsync(message.TokenId));
        Assert.False(await _store.CancelAsync(message.TokenId));

        Assert.Null(await _store.GetAsync(message.TokenId));
        Assert.Empty(await _store.ClaimDueAsync(Now.AddDays(1), ClaimTimeout, 10));
    }

    [Fact]
    public async Task Should_put_back_a_message_whose_send_failed_with_the_attempt_counted()
    {
        var message = Message(Now);
        await _store.ScheduleAsync(message);
        var claimed = Assert.Single(await _store.ClaimDueAsync(Now, ClaimTimeout, 10));

        Assert.True(await _store.ReleaseAsync(claimed, Now.AddSeconds(2)));

        Assert.Empty(await _store.ClaimDueAsync(Now.AddSeconds(1), ClaimTimeout, 10));
        var again = Assert.Single(await _store.ClaimDueAsync(Now.AddSeconds(2), ClaimTimeout, 10));
        Assert.Equal(1, again.Message.Attempts);
    }

    [Theory]
    [InlineData("", "QueueName")]
    [InlineData("poll", "PollInterval")]
    [InlineData("claim", "ClaimTimeout")]
    [InlineData("batch", "BatchSize")]
    public void Should_refuse_invalid_options_naming_the_setting(string broken, string setting)
    {
        var options = new RedisMessageSchedulerOptions();
        switch (broken)
        {
            case "": options.QueueName = " "; break;
            case "poll": options.PollInterval = TimeSpan.Zero; break;
            case "claim": options.ClaimTimeout = options.PollInterval; break;
            case "batch": options.BatchSize = 0; break;
        }

        var exception = Assert.Throws<ArgumentException>(options.Validate);

        Assert.Contains($"RedisMessageSchedulerOptions.{setting}", exception.Message);
    }
}
