using IcosFl.Infrastructure.Sagas;
using IcosFl.Integration.Tests.Servers;
using MassTransit;
using StackExchange.Redis;

namespace IcosFl.Integration.Tests.Sagas;

[Collection(ServersCollection.Name)]
public sealed class RedisSagaStoreTests : IAsyncLifetime
{
    readonly TestServers _servers;
    readonly string _prefix = $"icosfl-test:{Guid.NewGuid():N}:";
    ConnectionMultiplexer _redis = null!;

    public RedisSagaStoreTests(TestServers servers)
    {
        _servers = servers;
    }

    public async Task InitializeAsync() => _redis = await ConnectionMultiplexer.ConnectAsync(_servers.RedisConfiguration);

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    RedisSagaStore<CounterState> Store(Action<RedisSagaRepositoryOptions>? configure = null)
    {
        var options = new RedisSagaRepositoryOptions { KeyPrefix = _prefix };
        configure?.Invoke(options);
        return new RedisSagaStore<CounterState>(_redis, options);
    }

    static CounterState NewCounter(int count = 3) => new()
    {
        CorrelationId = Guid.NewGuid(),
        CurrentState = "Counting",
        Count = count,
        Submitters = Enumerable.Range(1, count).Select(i => $"w{i}").ToList(),
    };

    [Fact]
    public async Task Should_insert_under_the_documented_key_and_load_it_back()
    {
        var store = Store();
        var counter = NewCounter();

        Assert.True(await store.InsertAsync(counter));

        var key = $"{_prefix}saga:CounterState:{counter.CorrelationId:D}";
        Assert.Equal(key, store.KeyFor(counter.CorrelationId));
        Assert.True(await _redis.GetDatabase().KeyExistsAsync(key));
        var loaded = await store.GetAsync(counter.CorrelationId);
        Assert.NotNull(loaded);
        Assert.Equal(1, loaded.Version);
        Assert.Equal("Counting", loaded.CurrentState);
        Assert.Equal(3, loaded.Count);
        Assert.Equal(["w1", "w2", "w3"], loaded.Submitters);
    }

    [Fact]
    public async Task Should_not_overwrite_an_existing_instance_on_insert()
    {
        var store = Store();
        var counter = NewCounter(count: 2);
        await store.InsertAsync(counter);
        var rival = NewCounter(count: 9);
        rival.CorrelationId = counter.CorrelationId;

        Assert.False(await store.InsertAsync(rival));

        Assert.Equal(0, rival.Version);
        Assert.Equal(2, (await store.GetAsync(counter.CorrelationId))!.Count);
    }

    [Fact]
    public async Task Should_increment_the_version_on_each_update()
    {
        var store = Store();
        var counter = NewCounter();
        await store.InsertAsync(counter);

        counter.Count = 4;
        await store.UpdateAsync(counter);
        counter.Count = 5;
        await store.UpdateAsync(counter);

        var loaded = await store.GetAsync(counter.CorrelationId);
        Assert.Equal(3, counter.Version);
        Assert.Equal(3, loaded!.Version);
        Assert.Equal(5, loaded.Count);
    }

    [Fact]
    public async Task Should_reject_an_update_made_on_a_stale_version()
    {
        var store = Store();
        var counter = NewCounter();
        await store.InsertAsync(counter);
        var first = (await store.GetAsync(counter.CorrelationId))!;
        var second = (await store.GetAsync(counter.CorrelationId))!;

        first.Count = 10;
        await store.UpdateAsync(first);
        second.Count = 20;
        var exception = await Assert.ThrowsAsync<ConcurrencyException>(() => store.UpdateAsync(second));

        Assert.Contains(counter.CorrelationId.ToString("D"), exception.Message);
        Assert.Contains("newer version than 1", exception.Message);
        Assert.Equal(1, second.Version); // unchanged, so the caller's copy still says what it was loaded as
        var stored = (await store.GetAsync(counter.CorrelationId))!;
        Assert.Equal(2, stored.Version);
        Assert.Equal(10, stored.Count);
    }

    [Fact]
    public async Task Should_delete_on_completion_and_reject_later_updates()
    {
        var store = Store();
        var counter = NewCounter();
        await store.InsertAsync(counter);
        var stale = (await store.GetAsync(counter.CorrelationId))!;

        await store.CompleteAsync(counter);

        Assert.Null(await store.GetAsync(counter.CorrelationId));
        Assert.False(await _redis.GetDatabase().KeyExistsAsync(store.KeyFor(counter.CorrelationId)));
        Assert.Empty(await store.ListAsync());
        var exception = await Assert.ThrowsAsync<ConcurrencyException>(() => store.UpdateAsync(stale));
        Assert.Contains("no longer holds it", exception.Message);
    }

    [Fact]
    public async Task Should_reject_completion_of_a_stale_version()
    {
        var store = Store();
        var counter = NewCounter();
        await store.InsertAsync(counter);
        var stale = (await store.GetAsync(counter.CorrelationId))!;
        await store.UpdateAsync(counter);

        await Assert.ThrowsAsync<ConcurrencyException>(() => store.CompleteAsync(stale));

        Assert.Equal(2, (await store.GetAsync(counter.CorrelationId))!.Version);
    }

    [Fact]
    public async Task Should_apply_and_renew_the_expiry()
    {
        var store = Store(o => o.Expiry = TimeSpan.FromMinutes(10));
        var counter = NewCounter();
        await store.InsertAsync(counter);
        var afterInsert = await store.GetTimeToLiveAsync(counter.CorrelationId);
        await _redis.GetDatabase().KeyExpireAsync(store.KeyFor(counter.CorrelationId), TimeSpan.FromMinutes(1));

        await store.UpdateAsync(counter);

        var afterUpdate = await store.GetTimeToLiveAsync(counter.CorrelationId);
        Assert.InRange(afterInsert!.Value, TimeSpan.FromMinutes(9.9), TimeSpan.FromMinutes(10));
        Assert.InRange(afterUpdate!.Value, TimeSpan.FromMinutes(9.9), TimeSpan.FromMinutes(10));
    }

    [Fact]
    public async Task Should_keep_no_expiry_by_default()
    {
        var store = Store();
        var counter = NewCounter();
        await store.InsertAsync(counter);
        await store.UpdateAsync(counter);

        Assert.Null(await store.GetTimeToLiveAsync(counter.CorrelationId));
    }

    [Fact]
    public async Task Should_keep_a_completed_instance_for_the_retention_time()
    {
        var store = Store(o => o.CompletedRetention = TimeSpan.FromHours(1));
        var counter = NewCounter();
        await store.InsertAsync(counter);
        counter.CurrentState = "Final";

        await store.CompleteAsync(counter);

        var retained = await store.GetAsync(counter.CorrelationId);
        Assert.Equal("Final", retained!.CurrentState);
        Assert.Equal(2, retained.Version);
        Assert.InRange((await store.GetTimeToLiveAsync(counter.CorrelationId))!.Value, TimeSpan.FromMinutes(59.9), TimeSpan.FromHours(1));
        Assert.Single(await store.ListAsync());
    }

    [Fact]
    public async Task Should_list_the_instances_of_its_saga_type_only_and_forget_expired_ones()
    {
        var store = Store();
        var counters = Enumerable.Range(0, 3).Select(_ => NewCounter()).ToList();
        foreach (var counter in counters)
            await store.InsertAsync(counter);
        var deadlines = new RedisSagaStore<DeadlineState>(_redis, new RedisSagaRepositoryOptions { KeyPrefix = _prefix });
        await deadlines.InsertAsync(new DeadlineState { CorrelationId = Guid.NewGuid(), CurrentState = "Waiting" });
        // What Redis does when an instance's TTL runs out.
        await _redis.GetDatabase().KeyDeleteAsync(store.KeyFor(counters[0].CorrelationId));

        var listed = await store.ListAsync();

        Assert.Equal(counters.Skip(1).Select(c => c.CorrelationId).Order(), listed.Select(c => c.CorrelationId).Order());
        Assert.False(await _redis.GetDatabase().SetContainsAsync($"{_prefix}saga-index:CounterState", counters[0].CorrelationId.ToString("D")));
        Assert.Single(await deadlines.ListAsync());
    }

    [Fact]
    public async Task Should_name_the_key_when_a_stored_body_is_unreadable()
    {
        var store = Store();
        var id = Guid.NewGuid();
        await _redis.GetDatabase().HashSetAsync(store.KeyFor(id), [new("version", 1), new("data", "{not json")]);

        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => store.GetAsync(id));

        Assert.Contains(store.KeyFor(id), exception.Message);
        Assert.Contains(typeof(CounterState).FullName!, exception.Message);
    }

    [Theory]
    [InlineData("", null, null, "KeyPrefix")]
    [InlineData("p:", -5.0, null, "Expiry")]
    [InlineData("p:", null, 0.0, "CompletedRetention")]
    public void Should_refuse_invalid_options_naming_the_setting(string prefix, double? expirySeconds, double? retentionSeconds, string setting)
    {
        var options = new RedisSagaRepositoryOptions
        {
            KeyPrefix = prefix,
            Expiry = expirySeconds is { } e ? TimeSpan.FromSeconds(e) : null,
            CompletedRetention = retentionSeconds is { } r ? TimeSpan.FromSeconds(r) : null,
        };

        var exception = Assert.Throws<ArgumentException>(() => new RedisSagaStore<CounterState>(_redis, options));

        Assert.Contains($"RedisSagaRepositoryOptions.{setting}", exception.Message);
    }
}
