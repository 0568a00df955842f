using System.Buffers;

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
    /// Reads the payload front to back, handing it to <paramref name="arrived"/> in pieces as they arrive (a piece is
    /// valid only during the call), so that a reader can decode and hash it without holding it all at once.
    /// Returns the payload's length, or null when the key is missing or has expired (then what
    /// <paramref name="arrived"/> saw means nothing). This default reads it whole with <see cref="GetAsync"/>.
    /// </summary>
    async Task<long?> StreamAsync(string key, Action<ReadOnlySpan<byte>> arrived, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arrived);
        if (await GetAsync(key, cancellationToken).ConfigureAwait(false) is not { } bytes)
            return null;
        arrived(bytes);
        return bytes.Length;
    }

    Task DeleteAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Chunk <paramref name="index"/> of a stored payload, as a worker asks for it over the broker
    /// (<see cref="BrokerClaimCheckStore"/>), with the payload's chunk count and length; null when the key is missing or
    /// has expired; <see cref="StoredChunk.Bytes"/> null when there is no such chunk. This default reads the whole
    /// payload and cuts it into <see cref="WeightTransport.ChunkBytes"/>; stores that keep chunks read just the one.
    /// </summary>
    async Task<StoredChunk?> ReadChunkAsync(string key, int index, CancellationToken cancellationToken = default)
    {
        if (await GetAsync(key, cancellationToken).ConfigureAwait(false) is not { } bytes)
            return null;
        var count = Math.Max(1, (bytes.Length + WeightTransport.ChunkBytes - 1) / WeightTransport.ChunkBytes);
        if (index < 0 || index >= count)
            return new StoredChunk(count, bytes.Length, null);
        var offset = index * WeightTransport.ChunkBytes;
        return new StoredChunk(count, bytes.Length, bytes.AsSpan(offset, Math.Min(WeightTransport.ChunkBytes, bytes.Length - offset)).ToArray());
    }

    /// <summary>
    /// Whether <paramref name="key"/> can still be fetched (not deleted, not expired, not lost with a restarted
    /// store), without fetching it. This default fetches the whole payload; stores override it with a cheap look.
    /// </summary>
    async Task<bool> ContainsAsync(string key, CancellationToken cancellationToken = default) =>
        await StreamAsync(key, static _ => { }, cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>
    /// Starts storing a payload that is handed over in pieces, front to back, while it is still being produced
    /// (<see cref="IClaimCheckUpload.AppendAsync"/>), so that a store can send the first ones while the rest is
    /// encoded and no buffer need hold the whole payload. This default gathers the pieces and stores them with
    /// <see cref="PutAsync"/> at completion.
    /// </summary>
    IClaimCheckUpload BeginPut(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        return new GatheredUpload(this, key, timeToLive);
    }

    /// <summary>An upload that gathers the pieces and writes the whole payload with <see cref="PutAsync"/> once it is complete.</summary>
    private sealed class GatheredUpload(IClaimCheckStore store, string key, TimeSpan timeToLive) : IClaimCheckUpload
    {
        private readonly ArrayBufferWriter<byte> gathered = new();

        public Task AppendAsync(ReadOnlyMemory<byte> piece)
        {
            gathered.Write(piece.Span);
            return Task.CompletedTask;
        }

        public Task CompleteAsync(CancellationToken cancellationToken = default) => store.PutAsync(key, gathered.WrittenMemory, timeToLive, cancellationToken);

        public Task AbortAsync() => Task.CompletedTask;
    }
}

/// <summary>One chunk of a stored payload (<see cref="IClaimCheckStore.ReadChunkAsync"/>): null bytes when there is no such chunk.</summary>
public sealed record StoredChunk(int Count, long Length, byte[]? Bytes);

/// <summary>
/// A payload being stored while it is produced (<see cref="IClaimCheckStore.BeginPut"/>). Exactly one of
/// <see cref="CompleteAsync"/> (the key then reads as the whole payload) or <see cref="AbortAsync"/>
/// (nothing readable is left behind) ends it.
/// </summary>
public interface IClaimCheckUpload
{
    /// <summary>
    /// The payload's next bytes (any length). The store may go on reading <paramref name="piece"/> until the
    /// returned task completes: only then may its memory be reused. The task must complete once the piece is
    /// stored (or has failed), not only at <see cref="CompleteAsync"/>: a producer waits for its earlier pieces
    /// before it appends more. A failed write surfaces here and again in <see cref="CompleteAsync"/>.
    /// </summary>
    Task AppendAsync(ReadOnlyMemory<byte> piece);

    /// <summary>Every byte has been appended: waits for the writes and makes the key readable.</summary>
    Task CompleteAsync(CancellationToken cancellationToken = default);

    /// <summary>The producer failed (e.g. refused a NaN half way): waits for writes in flight and removes what they stored.</summary>
    Task AbortAsync();

    /// <summary>
    /// Stores <paramref name="payload"/> as this upload's one piece and completes it; on failure aborts it (closing what it
    /// holds and removing what it stored, as a pack refused half way does) and rethrows. The stores' whole-payload put.
    /// </summary>
    async Task WriteWholeAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        try
        {
            await AppendAsync(payload).ConfigureAwait(false);
            await CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await AbortAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// What a message names the payload by once complete, when not the key it was begun with: a store that hands the
    /// bytes to someone else to keep (<see cref="BrokerClaimCheckStore"/>, "transfer:{id}") names it by its transfer.
    /// </summary>
    string? Reference => null;
}
