using IcosFl.Infrastructure.Weights;

namespace IcosFl.Infrastructure.Tests.Weights;

public class Keeping_claim_checks_in_memory
{
    private readonly FakeTimeProvider clock = new(new DateTimeOffset(2026, 11, 28, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task Should_return_what_was_put_until_it_expires_or_is_deleted()
    {
        var store = new InMemoryClaimCheckStore(clock);
        await store.PutAsync("a", new byte[] { 1, 2, 3 }, TimeSpan.FromSeconds(30));
        await store.PutAsync("b", new byte[] { 4 }, TimeSpan.FromSeconds(60));

        Assert.Equal([1, 2, 3], await store.GetAsync("a"));
        await store.DeleteAsync("b");
        Assert.Null(await store.GetAsync("b"));

        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Null(await store.GetAsync("a"));
        Assert.Equal(0, store.Count);
        Assert.Null(await store.GetAsync("never-put"));
    }

    [Fact]
    public async Task Should_say_whether_a_key_is_there_without_fetching_it_until_it_expires_or_is_deleted()
    {
        var store = new InMemoryClaimCheckStore(clock);
        await store.PutAsync("a", new byte[] { 1, 2, 3 }, TimeSpan.FromSeconds(30));
        await store.PutAsync("b", new byte[] { 4 }, TimeSpan.FromSeconds(60));
        IClaimCheckStore asStore = store;

        Assert.True(await asStore.ContainsAsync("a"));
        await store.DeleteAsync("b");
        Assert.False(await asStore.ContainsAsync("b"));
        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.True(await asStore.ContainsAsync("a"));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(await asStore.ContainsAsync("a"));
        Assert.False(await asStore.ContainsAsync("never-put"));
    }

    [Fact]
    public async Task Should_answer_contains_by_fetching_in_a_store_that_only_puts_gets_and_deletes()
    {
        IClaimCheckStore store = new PutGetDelete(new InMemoryClaimCheckStore(clock));
        await store.PutAsync("a", new byte[] { 1, 2, 3 }, TimeSpan.FromSeconds(30));

        Assert.True(await store.ContainsAsync("a"));
        Assert.False(await store.ContainsAsync("never-put"));
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.False(await store.ContainsAsync("a"));
    }

    /// <summary>A store with only the required members, so that the interface's defaults answer the rest.</summary>
    private sealed class PutGetDelete(IClaimCheckStore inner) : IClaimCheckStore
    {
        public Task PutAsync(string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, CancellationToken cancellationToken = default) =>
            inner.PutAsync(key, payload, timeToLive, cancellationToken);

        public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default) => inner.GetAsync(key, cancellationToken);

        public Task DeleteAsync(string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);
    }

    [Fact]
    public async Task Should_restart_the_time_to_live_when_a_key_is_put_again()
    {
        var store = new InMemoryClaimCheckStore(clock);
        await store.PutAsync("k", new byte[] { 1 }, TimeSpan.FromSeconds(10));
        clock.Advance(TimeSpan.FromSeconds(8));
        await store.PutAsync("k", new byte[] { 2 }, TimeSpan.FromSeconds(10));
        clock.Advance(TimeSpan.FromSeconds(8));

        Assert.Equal([2], await store.GetAsync("k"));
    }

    [Fact]
    public async Task Should_not_let_callers_change_what_is_stored()
    {
        var store = new InMemoryClaimCheckStore(clock);
        var original = new byte[] { 1, 2, 3 };
        await store.PutAsync("k", original, TimeSpan.FromMinutes(1));
        original[0] = 99;
        (await store.GetAsync("k"))![1] = 99;

        Assert.Equal([1, 2, 3], await store.GetAsync("k"));
    }

    [Fact]
    public async Task Should_refuse_a_non_positive_time_to_live_and_blank_keys()
    {
        var store = new InMemoryClaimCheckStore(clock);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.PutAsync("k", new byte[1], TimeSpan.Zero));
        await Assert.ThrowsAsync<ArgumentException>(() => store.PutAsync(" ", new byte[1], TimeSpan.FromSeconds(1)));
    }
}
