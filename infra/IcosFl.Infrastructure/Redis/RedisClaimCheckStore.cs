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
    public const int DefaultChunkBytes = 8 * 1024 * 1024;

    private const int ReadsInFlight = 4;

    private readonly int chunkBytes = chunkBytes > 0
        ? chunkBytes
        : throw new ArgumentOutOfRangeException(nameof(chunkBytes), chunkBytes, "chunk size must be a positive number of bytes");

    private IDatabase Db => redis.GetDatabase();

    public async Task PutAsync(string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        var count = (int)((payload.Length + chunkBytes - 1) / chunkBytes);
        var writes = new List<Task>(count + 1);
        for (var i = 0; i < count; i++)
        {
            var chunk = payload.Slice(i * chunkBytes, Math.Min(chunkBytes, payload.Length - i * chunkBytes));
            writes.Add(Db.StringSetAsync($"{key}:{i}", chunk, timeToLive));
        }
        await Task.WhenAll(writes);
        // The header goes last: a reader that finds it finds every chunk (until they expire together).
        await Db.StringSetAsync($"{key}:n", $"{count}:{payload.Length}", timeToLive);
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        var header = await Db.StringGetAsync($"{key}:n");
        if (header.IsNull)
            return null;
        var (count, length) = ParseHeader(key, header);
        var result = new byte[length];
        var offset = 0;
        // A few chunk reads in flight at once hide the round-trip latency; leases (pooled buffers) spare
        // an 8 MiB large-object allocation per chunk; the window bounds the memory held beyond the result.
        var reads = new Queue<Task<Lease<byte>?>>();
        var next = 0;
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
                chunk.Span.CopyTo(result.AsSpan(offset));
                offset += chunk.Length;
            }
        }
        finally
        {
            // Reads still in flight after an early return: release their buffers when they land.
            while (reads.Count > 0)
                _ = reads.Dequeue().ContinueWith(t => t.Result?.Dispose(), TaskContinuationOptions.OnlyOnRanToCompletion);
        }
        return offset == length ? result : null;
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
