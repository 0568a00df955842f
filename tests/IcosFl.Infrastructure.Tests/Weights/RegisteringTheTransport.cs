using IcosFl.Infrastructure.Weights;
using Microsoft.Extensions.DependencyInjection;

namespace IcosFl.Infrastructure.Tests.Weights;

/// <summary>Who disposes the claim-check store: the container for one it created, the caller for one it was given.</summary>
public sealed class RegisteringTheTransport
{
    [Fact]
    public void A_store_the_container_creates_is_disposed_with_it()
    {
        var store = new DisposableStore();
        var provider = new ServiceCollection().AddIcosFlWeightTransport(_ => store).BuildServiceProvider();
        Assert.NotNull(provider.GetRequiredService<WeightTransport>());

        provider.Dispose();

        Assert.True(store.Disposed);
    }

    [Fact]
    public void A_store_given_as_it_is_stays_the_callers()
    {
        var store = new DisposableStore();
        var provider = new ServiceCollection().AddIcosFlWeightTransport(store).BuildServiceProvider();
        Assert.Same(store, provider.GetRequiredService<IClaimCheckStore>());

        provider.Dispose();

        Assert.False(store.Disposed);
    }

    private sealed class DisposableStore : IClaimCheckStore, IDisposable
    {
        private readonly InMemoryClaimCheckStore inner = new();

        public bool Disposed { get; private set; }

        public void Dispose() => Disposed = true;

        public Task PutAsync(string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, CancellationToken cancellationToken = default) =>
            inner.PutAsync(key, payload, timeToLive, cancellationToken);

        public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default) => inner.GetAsync(key, cancellationToken);

        public Task DeleteAsync(string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);
    }
}
