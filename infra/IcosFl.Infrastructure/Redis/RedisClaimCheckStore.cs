using System.Buffers;
using IcosFl.Infrastructure.Weights;
using StackExchange.Redis;

namespace IcosFl.Infrastructure.Redis;

/// <summary>
/// The claim-check store in Redis: a payload is split into chunks (Redis strings are limited to
/// 512 MB, and smaller values keep the server responsive), all written with the same time to live.
/// Layout: "{key}:n" holds the chunk count and total length, "{key}:{i}" the chunks.
/// </summary>
public sealed class RedisClaimCheckStore(IConnectionMultiplexer redis, int chunkBytes = RedisClaimCheckStore.DefaultChunkBytes) : IClaimCheckStore
{
    /// <summary>
    /// 1 MiB: measured against Redis 7 with its append-only file on, 8 MiB chunks were written at about
    /// half the rate of 1 MiB ones (the server allocates, and appends to the file, one whole value at a time).
    /// </summary>
    public const int DefaultChunkBytes = 1024 * 1024;

    // Chunk reads in flight at once: enough to keep the connection busy, few enough to bound the leased memory.
    private const int ReadsInFlight = 16;

    private readonly int chunkBytes = chunkBytes > 0
        ? chunkBytes
        : throw new ArgumentOutOfRangeException(nameof(chunkBytes), chunkBytes, "chunk size must be a positive number of bytes");

    private IDatabase Db => redis.GetDatabase();

    public Task PutAsync(string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, CancellationToken cancellationToken = default) =>
        BeginPut(key, payload, timeToLive).CompleteAsync(cancellationToken);

    /// <summary>Each chunk is written as soon as its last byte is final, pipelined on the connection.</summary>
    public IClaimCheckUpload BeginPut(string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        return new Upload(this, key, payload, timeToLive);
    }

    private sealed class Upload(RedisClaimCheckStore store, string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive) : IClaimCheckUpload
    {
        private readonly int count = (int)((payload.Length + (long)store.chunkBytes - 1) / store.chunkBytes);
        private readonly List<Task> writes = [];

        public void Advance(int finalBytes)
        {
            ClaimCheckUploadProgress.Check(finalBytes, payload.Length);
            // Whole chunks only: the last, shorter one goes at completion.
            while ((writes.Count + 1L) * store.chunkBytes <= finalBytes)
                WriteNext();
        }

        public async Task CompleteAsync(CancellationToken cancellationToken = default)
        {
            while (writes.Count < count)
                WriteNext();
            // Memory of the payload goes out as it is (no copy per chunk); every write must land before the
            // header, and before the caller reuses the buffer.
            await Task.WhenAll(writes);
            cancellationToken.ThrowIfCancellationRequested();
            // The header goes last: a reader that finds it finds every chunk (until they expire together).
            await store.Db.StringSetAsync($"{key}:n", $"{count}:{payload.Length}", timeToLive);
        }

        public async Task AbortAsync()
        {
            try
            {
                await Task.WhenAll(writes);
            }
            catch (Exception)
            {
                // Aborting already reports the producer's failure; chunks whose write failed are not there
                // to remove, the others are removed below.
            }

            if (writes.Count > 0)
                await store.Db.KeyDeleteAsync(Enumerable.Range(0, writes.Count).Select(i => (RedisKey)$"{key}:{i}").ToArray());
        }

        private void WriteNext()
        {
            var i = writes.Count;
            var chunk = payload.Slice(i * store.chunkBytes, Math.Min(store.chunkBytes, payload.Length - i * store.chunkBytes));
            writes.Add(store.Db.StringSetAsync($"{key}:{i}", chunk, timeToLive));
        }
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        await ReadAsync(key, length => GC.AllocateUninitializedArray<byte>(length), giveBack: null, arrived: null, cancellationToken) is { } read ? read.Buffer : null;

    /// <summary>Into a buffer rented from <see cref="PayloadBuffers"/>, returned there on dispose.</summary>
    public async Task<ClaimCheckedBytes?> FetchAsync(string key, Action<ReadOnlySpan<byte>>? arrived = null, CancellationToken cancellationToken = default)
    {
        var read = await ReadAsync(key, PayloadBuffers.Pool.Rent, GiveBack, arrived, cancellationToken);
        return read is { } r ? new ClaimCheckedBytes(r.Buffer, r.Length, GiveBack) : null;

        static void GiveBack(byte[] buffer) => PayloadBuffers.Pool.Return(buffer);
    }

    /// <summary>Every chunk into one buffer from <paramref name="allocate"/>; null (buffer given back) when any is missing.</summary>
    private async Task<(byte[] Buffer, int Length)?> ReadAsync(string key, Func<int, byte[]> allocate, Action<byte[]>? giveBack,
        Action<ReadOnlySpan<byte>>? arrived, CancellationToken cancellationToken)
    {
        var header = await Db.StringGetAsync($"{key}:n");
        if (header.IsNull)
            return null;
        var (count, length) = ParseHeader(key, header);
        var buffer = allocate(length);
        var offset = 0;
        // Several chunk reads in flight hide the round-trip latency; leases (pooled buffers) spare an
        // allocation per chunk; the window bounds the memory held beyond the result.
        var reads = new Queue<Task<Lease<byte>?>>();
        var next = 0;
        var complete = false;
        try
        {
            for (var i = 0; i < count; i++)
            {
                while (next < count && reads.Count < ReadsInFlight)
                    reads.Enqueue(Db.StringGetLeaseAsync($"{key}:{next++}"));
                cancellationToken.ThrowIfCancellationRequested();
                using var chunk = await reads.Dequeue();
                if (chunk is null || offset + chunk.Length > length)
                    return null; // expired between the header and this chunk, or overwritten: treat as missing
                chunk.Span.CopyTo(buffer.AsSpan(offset));
                // While the next chunks are on their way: the caller's look at this one, still in cache.
                arrived?.Invoke(chunk.Span);
                offset += chunk.Length;
            }
            complete = offset == length;
            return complete ? (buffer, length) : null;
        }
        finally
        {
            if (!complete)
                giveBack?.Invoke(buffer);
            // Reads still in flight after an early return: release their buffers when they land.
            while (reads.Count > 0)
                _ = reads.Dequeue().ContinueWith(t => t.Result?.Dispose(), TaskContinuationOptions.OnlyOnRanToCompletion);
        }
    }

    /// <summary>
    /// One EXISTS on the header: it is written last and expires with the chunks, so it stands for the payload
    /// (a Redis restarted without persistence, or a flush, loses both).
    /// </summary>
    public Task<bool> ContainsAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        cancellationToken.ThrowIfCancellationRequested();
        return Db.KeyExistsAsync($"{key}:n");
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var header = await Db.StringGetAsync($"{key}:n");
        if (header.IsNull)
            return;
        int count;
        try
        {
            (count, _) = ParseHeader(key, header);
        }
        catch (WeightPayloadException)
        {
            // Not this store's layout: remove the header so the key reads as missing; chunks, if any, expire on their own.
            count = 0;
        }
        var keys = Enumerable.Range(0, count).Select(i => (RedisKey)$"{key}:{i}").Append($"{key}:n").ToArray();
        await Db.KeyDeleteAsync(keys);
    }

    private static (int Count, int Length) ParseHeader(string key, RedisValue header)
    {
        // Written by PutAsync as "{chunks}:{total length}"; anything else was not written by this store.
        var parts = header.ToString().Split(':');
        if (parts.Length == 2
            && int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count)
            && int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length))
        {
            return (count, length);
        }

        throw new WeightPayloadException(
            $"claim-check key '{key}': header '{key}:n' holds '{header}', expected '<chunk count>:<total length>' (not written by IcosFl's claim-check store?)");
    }
}
