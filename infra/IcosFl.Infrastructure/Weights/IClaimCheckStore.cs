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
    /// <paramref name="arrived"/>, when given, sees the payload front to back in pieces as they arrive
    /// (e.g. to hash them while the rest is read); when the result is null, what it saw means nothing.
    /// </summary>
    async Task<ClaimCheckedBytes?> FetchAsync(string key, Action<ReadOnlySpan<byte>>? arrived = null, CancellationToken cancellationToken = default)
    {
        if (await GetAsync(key, cancellationToken).ConfigureAwait(false) is not { } bytes)
            return null;
        arrived?.Invoke(bytes);
        return new ClaimCheckedBytes(bytes, bytes.Length);
    }

    Task DeleteAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether <paramref name="key"/> can still be fetched (not deleted, not expired, not lost with a restarted
    /// store), without fetching it. This default fetches the whole payload; stores override it with a cheap look.
    /// </summary>
    async Task<bool> ContainsAsync(string key, CancellationToken cancellationToken = default)
    {
        using var fetched = await FetchAsync(key, arrived: null, cancellationToken).ConfigureAwait(false);
        return fetched is not null;
    }

    /// <summary>
    /// Starts storing <paramref name="payload"/> while it is still being produced, front to back: the
    /// producer calls <see cref="IClaimCheckUpload.Advance"/> as bytes become final, so a store can send
    /// them while the rest is encoded. <paramref name="payload"/> must stay unchanged and alive until the
    /// upload has completed or been aborted. This default stores everything at completion.
    /// </summary>
    IClaimCheckUpload BeginPut(string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive) =>
        new WholeUpload(this, key, payload, timeToLive);

    /// <summary>An upload that writes the whole payload with <see cref="PutAsync"/> once it is complete.</summary>
    private sealed class WholeUpload(IClaimCheckStore store, string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive) : IClaimCheckUpload
    {
        public void Advance(int finalBytes) => ClaimCheckUploadProgress.Check(finalBytes, payload.Length);

        public Task CompleteAsync(CancellationToken cancellationToken = default) => store.PutAsync(key, payload, timeToLive, cancellationToken);

        public Task AbortAsync() => Task.CompletedTask;
    }
}

/// <summary>
/// A payload being stored while it is produced (<see cref="IClaimCheckStore.BeginPut"/>). Exactly one of
/// <see cref="CompleteAsync"/> (the key then reads as the whole payload) or <see cref="AbortAsync"/>
/// (nothing readable is left behind) ends it; both return only when the store no longer reads the
/// producer's buffer.
/// </summary>
public interface IClaimCheckUpload
{
    /// <summary>The first <paramref name="finalBytes"/> bytes of the payload will not change any more.</summary>
    void Advance(int finalBytes);

    /// <summary>Every byte is final: stores what is left and makes the key readable.</summary>
    Task CompleteAsync(CancellationToken cancellationToken = default);

    /// <summary>The producer failed (e.g. refused a NaN half way): waits for writes in flight and removes what they stored.</summary>
    Task AbortAsync();
}

internal static class ClaimCheckUploadProgress
{
    public static void Check(int finalBytes, int length)
    {
        if (finalBytes < 0 || finalBytes > length)
            throw new ArgumentOutOfRangeException(nameof(finalBytes), finalBytes, $"an upload of {length} bytes cannot have {finalBytes} final bytes");
    }
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
