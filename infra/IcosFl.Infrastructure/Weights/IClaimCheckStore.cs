namespace IcosFl.Infrastructure.Weights;

/// <summary>
/// Where payloads too large to travel inside a message wait to be fetched (claim check pattern).
/// Entries expire on their own, so a federation that dies leaves nothing behind for long.
/// </summary>
public interface IClaimCheckStore
{
    Task PutAsync(string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, CancellationToken cancellationToken = default);

    /// <summary>The stored bytes, or null when the key is missing or has expired.</summary>
    Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Like <see cref="GetAsync"/>, but the bytes may sit in a buffer the store lends from a pool (a
    /// 100 MB array allocated per fetch costs more than the copy into it): dispose the result after use.
    /// </summary>
    async Task<ClaimCheckedBytes?> FetchAsync(string key, CancellationToken cancellationToken = default) =>
        await GetAsync(key, cancellationToken).ConfigureAwait(false) is { } bytes ? new ClaimCheckedBytes(bytes, bytes.Length) : null;

    Task DeleteAsync(string key, CancellationToken cancellationToken = default);
}

/// <summary>Fetched claim-checked bytes in a possibly pooled buffer, given back on dispose.</summary>
public sealed class ClaimCheckedBytes(byte[] buffer, int length, Action<byte[]>? giveBack = null) : IDisposable
{
    private byte[]? buffer = length <= buffer.Length ? buffer : throw new ArgumentOutOfRangeException(nameof(length), length, "longer than the buffer");

    public int Length { get; } = length;

    public ReadOnlyMemory<byte> Bytes => (buffer ?? throw new ObjectDisposedException(nameof(ClaimCheckedBytes))).AsMemory(0, Length);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref buffer, null) is { } returned)
            giveBack?.Invoke(returned);
    }
}
