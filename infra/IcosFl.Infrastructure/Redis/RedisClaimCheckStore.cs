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

    public async Task PutAsync(string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        var upload = BeginPut(key, timeToLive);
        await upload.AppendAsync(payload);
        await upload.CompleteAsync(cancellationToken);
    }

    /// <summary>Each appended piece is written at once, in chunks of at most the chunk size, pipelined on the connection.</summary>
    public IClaimCheckUpload BeginPut(string key, TimeSpan timeToLive)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        return new Upload(this, key, timeToLive);
    }

    private sealed class Upload(RedisClaimCheckStore store, string key, TimeSpan timeToLive) : IClaimCheckUpload
    {
        private readonly List<Task> writes = [];
        private readonly IDatabase db = store.Db;
        private long length;

        public Task AppendAsync(ReadOnlyMemory<byte> piece)
        {
            length += piece.Length;
            if (length > int.MaxValue)
                throw new ArgumentOutOfRangeException(nameof(piece), length, $"a claim-checked payload holds at most {int.MaxValue} bytes");
            var first = writes.Count;
            // Memory of the piece goes out as it is (no copy per chunk): the caller keeps it until these writes land.
            for (var offset = 0; offset < piece.Length; offset += store.chunkBytes)
                writes.Add(db.StringSetAsync($"{key}:{writes.Count}", piece.Slice(offset, Math.Min(store.chunkBytes, piece.Length - offset)), timeToLive));
            return writes.Count - first == 1 ? writes[first] : Task.WhenAll(writes.Skip(first));
        }

        public async Task CompleteAsync(CancellationToken cancellationToken = default)
        {
            // Every chunk must land before the header.
            await Task.WhenAll(writes);
            cancellationToken.ThrowIfCancellationRequested();
            // The header goes last: a reader that finds it finds every chunk (until they expire together).
            await db.StringSetAsync($"{key}:n", $"{writes.Count}:{length}", timeToLive);
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
                await db.KeyDeleteAsync(Enumerable.Range(0, writes.Count).Select(i => (RedisKey)$"{key}:{i}").ToArray());
        }
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        byte[]? buffer = null;
        var offset = 0;
        var length = await ReadAsync(key, total => buffer = GC.AllocateUninitializedArray<byte>(total), piece =>
        {
            piece.CopyTo(buffer.AsSpan(offset));
            offset += piece.Length;
        }, cancellationToken);
        return length is null ? null : buffer;
    }

    /// <summary>Each chunk handed on as it lands, while the next ones are read; nothing is assembled.</summary>
    public Task<long?> StreamAsync(string key, Action<ReadOnlySpan<byte>> arrived, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arrived);
        return ReadAsync(key, starting: null, arrived, cancellationToken);
    }

    /// <summary>Every chunk in order to <paramref name="arrived"/>; the total length, or null when the header or any chunk is missing.</summary>
    private async Task<long?> ReadAsync(string key, Action<int>? starting, Action<ReadOnlySpan<byte>> arrived, CancellationToken cancellationToken)
    {
        var db = Db;
        var header = await db.StringGetAsync($"{key}:n");
        if (header.IsNull)
            return null;
        var (count, length) = ParseHeader(key, header);
        starting?.Invoke(length);
        var offset = 0;
        // Several chunk reads in flight hide the round-trip latency; leases (pooled buffers) spare an
        // allocation per chunk; the window bounds the memory held at once (ReadsInFlight chunks).
        var reads = new Queue<Task<Lease<byte>?>>();
        var next = 0;
        try
        {
            for (var i = 0; i < count; i++)
            {
                while (next < count && reads.Count < ReadsInFlight)
                    reads.Enqueue(db.StringGetLeaseAsync($"{key}:{next++}"));
                cancellationToken.ThrowIfCancellationRequested();
                using var chunk = await reads.Dequeue();
                if (chunk is null || offset + chunk.Length > length)
                    return null; // expired between the header and this chunk, or overwritten: treat as missing
                arrived(chunk.Span);
                offset += chunk.Length;
            }

            return offset == length ? length : null;
        }
        finally
        {
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
