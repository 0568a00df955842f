using System.Collections.Concurrent;

namespace IcosFl.Infrastructure.Weights;

/// <summary>
/// Claim-check store for the embedded mode (one process, no Redis). Honours time-to-live against
/// the injected clock, so expiry can be tested without waiting.
/// </summary>
public sealed class InMemoryClaimCheckStore(TimeProvider? timeProvider = null) : IClaimCheckStore
{
    private readonly TimeProvider clock = timeProvider ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.Ordinal);

    /// <summary>Entries held, expired ones included until they are next touched.</summary>
    public int Count => entries.Count;

    public Task PutAsync(string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        cancellationToken.ThrowIfCancellationRequested();

        // A copy: the caller may reuse its buffer, as it could after a network write.
        entries[key] = new Entry(payload.ToArray(), clock.GetUtcNow() + timeToLive);
        return Task.CompletedTask;
    }

    public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        cancellationToken.ThrowIfCancellationRequested();

        if (!entries.TryGetValue(key, out var entry))
        {
            return Task.FromResult<byte[]?>(null);
        }

        if (clock.GetUtcNow() >= entry.ExpiresAt)
        {
            entries.TryRemove(KeyValuePair.Create(key, entry));
            return Task.FromResult<byte[]?>(null);
        }

        // A copy per reader, as Redis would give: one reader cannot change what another fetches.
        return Task.FromResult<byte[]?>(entry.Payload.ToArray());
    }

    public Task<bool> ContainsAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(entries.TryGetValue(key, out var entry) && clock.GetUtcNow() < entry.ExpiresAt);
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        cancellationToken.ThrowIfCancellationRequested();
        entries.TryRemove(key, out _);
        return Task.CompletedTask;
    }

    private sealed record Entry(byte[] Payload, DateTimeOffset ExpiresAt);
}
