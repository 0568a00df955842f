using System.Buffers;
using System.Text;
using IcosFl.Infrastructure.Weights;
using StackExchange.Redis;

namespace IcosFl.Infrastructure.Redis;

/// <summary>
/// The claim-check store in Redis: a payload is split into chunks (Redis strings are limited to
/// 512 MB, and smaller values keep the server responsive), all written with the same time to live.
/// Layout: "{key}:n" holds the chunk count and total length, "{key}:{i}" the chunks.
/// Chunks travel on the store's own connections (<see cref="RespConnectionPool"/>: RESP written from the chunk
/// buffers, read straight into the reader) when the multiplexer's configuration is a plain Redis, through the
/// multiplexer otherwise (TLS, several endpoints, Sentinel) or when <paramref name="directChunkConnections"/> is false;
/// the layout is the same either way. The small commands (existence, deletion) always go through the multiplexer.
/// </summary>
public sealed class RedisClaimCheckStore(IConnectionMultiplexer redis, int chunkBytes = RedisClaimCheckStore.DefaultChunkBytes, bool directChunkConnections = true)
    : IClaimCheckStore, IDisposable
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

    private readonly RespConnectionPool? direct = directChunkConnections ? RespConnectionPool.TryCreate(redis) : null;

    /// <summary>Whether chunks travel on the store's own connections rather than through the multiplexer.</summary>
    public bool UsesDirectConnections => direct is not null;

    /// <summary>Closes the store's idle chunk connections (the multiplexer is the caller's).</summary>
    public void Dispose() => direct?.Dispose();

    private IDatabase Db => redis.GetDatabase();

    public Task PutAsync(string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, CancellationToken cancellationToken = default) =>
        BeginPut(key, timeToLive).WriteWholeAsync(payload, cancellationToken);

    /// <summary>Each appended piece is written at once, in chunks of at most the chunk size, pipelined on the connection.</summary>
    public IClaimCheckUpload BeginPut(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        return direct is null ? new Upload(this, key, timeToLive) : new DirectUpload(this, direct, key, timeToLive);
    }

    /// <summary>
    /// An upload on one of the store's own connections: each chunk written as it is appended (SET with PX), the
    /// replies read in order by a loop of their own, each completing its chunk's task; the header last, on the same
    /// connection, once every chunk is acknowledged.
    /// </summary>
    private sealed class DirectUpload(RedisClaimCheckStore store, RespConnectionPool pool, string key, TimeSpan timeToLive) : IClaimCheckUpload
    {
        private readonly long timeToLiveMs = (long)Math.Ceiling(timeToLive.TotalMilliseconds);
        private readonly List<Task> writes = [];
        private readonly Queue<TaskCompletionSource> awaiting = new();
        private readonly SemaphoreSlim sent = new(0);
        private RespConnection? connection;
        private Task? replies;
        private Exception? failure;
        private TaskCompletionSource? sending;
        private int attempted;
        private long length;

        public Task AppendAsync(ReadOnlyMemory<byte> piece) => store.AppendChunks(key, piece, ref length, writes, Send);

        /// <summary>Writes one SET (blocking until the socket has taken the value); its task completes with the server's reply.</summary>
        private Task Send(string chunkKey, ReadOnlyMemory<byte> value)
        {
            if (Volatile.Read(ref failure) is { } failed)
                return Task.FromException(failed);
            try
            {
                // Synchronous, like the encoder calling this: a pooled connection is there at once; a new one connects.
                connection ??= Open(pool.RentAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult());
            }
            catch (Exception e)
            {
                Fail(e);
                return Task.FromException(e);
            }

            var reply = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (awaiting)
            {
                // Checked again under the lock Fail takes: a write queued after the reply loop has ended on a failure
                // would never be answered.
                if (failure is not null)
                    return Task.FromException(failure);
                awaiting.Enqueue(reply);
                sending = reply;
                attempted++;
            }

            try
            {
                connection.SendSet(chunkKey, value, timeToLiveMs);
            }
            catch (Exception e)
            {
                lock (awaiting)
                    sending = null;
                Fail(e);
                reply.TrySetException(failure!);
                return reply.Task;
            }

            // On the wire: its reply must be read, even if the upload has failed meanwhile (see ReadRepliesAsync).
            sent.Release();
            lock (awaiting)
            {
                sending = null;
                // A failure while the value was going out left this write to us: its memory is no longer read now.
                if (failure is not null)
                    reply.TrySetException(failure);
            }

            return reply.Task;
        }

        private RespConnection Open(RespConnection opened)
        {
            replies = Task.Run(() => ReadRepliesAsync(opened));
            return opened;
        }

        /// <summary>
        /// One reply per command sent, in order; ends at the release that comes without a command (<see cref="StopReadingAsync"/>),
        /// or when the connection is out of step. After an error reply (out of memory, no permission) the connection is still
        /// in step, and the replies of the writes already sent are read all the same: once the loop has ended, every SET
        /// sent has been carried out, so an abort's DEL (on another connection) cannot come before one of them.
        /// </summary>
        private async Task ReadRepliesAsync(RespConnection from)
        {
            while (true)
            {
                await sent.WaitAsync().ConfigureAwait(false);
                TaskCompletionSource? next;
                lock (awaiting)
                    awaiting.TryDequeue(out next);
                if (next is null || from.Broken)
                    return;
                try
                {
                    await from.ReadOkAsync($"SET of claim-check key '{key}'", CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    next.TrySetException(e);
                    Fail(e);
                    if (from.Broken)
                        return;
                    continue;
                }

                next.TrySetResult();
            }
        }

        /// <summary>The first failure fails every write not yet acknowledged and every later one.</summary>
        private void Fail(Exception e)
        {
            lock (awaiting)
            {
                Volatile.Write(ref failure, failure ?? e);
                // Not the write whose value is still going out: its task must not complete while the socket may read
                // the caller's memory; Send completes it once the write returns. The writes stay queued: the reply
                // loop still reads their replies (or stops, if the connection is out of step).
                foreach (var pending in awaiting)
                {
                    if (pending != sending)
                        pending.TrySetException(failure!);
                }
            }
        }

        /// <summary>Ends the reply loop; the connection goes back to the pool if it is still in step, else it is closed.</summary>
        private async Task StopReadingAsync()
        {
            if (connection is null)
                return;
            sent.Release();
            await replies!.ConfigureAwait(false);
            if (failure is null)
                pool.Return(connection);
            else
                connection.Dispose();
            connection = null;
        }

        public async Task CompleteAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                // Every chunk must land before the header.
                await Task.WhenAll(writes).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                // The header goes last: a reader that finds it finds every chunk (until they expire together).
                await Send(HeaderKey(key), Encoding.ASCII.GetBytes(Header(writes.Count, length))).ConfigureAwait(false);
            }
            catch
            {
                connection?.Dispose();
                throw;
            }
            finally
            {
                await StopReadingAsync().ConfigureAwait(false);
            }
        }

        public async Task AbortAsync()
        {
            try
            {
                await Task.WhenAll(writes).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Aborting already reports the producer's failure; chunks whose write failed are not there
                // to remove, the others are removed below.
            }

            await StopReadingAsync().ConfigureAwait(false);
            // Every chunk sent, acknowledged or not: those after a refused one may have been stored all the same.
            await store.DeleteChunksAsync(key, attempted).ConfigureAwait(false);
        }
    }

    private sealed class Upload(RedisClaimCheckStore store, string key, TimeSpan timeToLive) : IClaimCheckUpload
    {
        private readonly List<Task> writes = [];
        private readonly IDatabase db = store.Db;
        private long length;

        // Memory of the piece goes out as it is (no copy per chunk): the caller keeps it until these writes land.
        public Task AppendAsync(ReadOnlyMemory<byte> piece) =>
            store.AppendChunks(key, piece, ref length, writes, (chunkKey, chunk) => db.StringSetAsync(chunkKey, chunk, timeToLive));

        public async Task CompleteAsync(CancellationToken cancellationToken = default)
        {
            // Every chunk must land before the header.
            await Task.WhenAll(writes);
            cancellationToken.ThrowIfCancellationRequested();
            // The header goes last: a reader that finds it finds every chunk (until they expire together).
            await db.StringSetAsync(HeaderKey(key), Header(writes.Count, length), timeToLive);
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

            // Every chunk handed to the multiplexer, acknowledged or not: a write that timed out may have landed.
            await store.DeleteChunksAsync(key, writes.Count).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// An appended piece cut into chunks of at most the chunk size, each written by <paramref name="write"/> under the
    /// next chunk key and added to <paramref name="writes"/>; the task of this piece's writes.
    /// </summary>
    private Task AppendChunks(string key, ReadOnlyMemory<byte> piece, ref long length, List<Task> writes, Func<string, ReadOnlyMemory<byte>, Task> write)
    {
        length += piece.Length;
        if (length > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(piece), length, $"a claim-checked payload holds at most {int.MaxValue} bytes");
        var first = writes.Count;
        for (var offset = 0; offset < piece.Length; offset += chunkBytes)
            writes.Add(write(ChunkKey(key, writes.Count), piece.Slice(offset, Math.Min(chunkBytes, piece.Length - offset))));
        return writes.Count - first == 1 ? writes[first] : Task.WhenAll(writes.Skip(first));
    }

    /// <summary>
    /// Removes chunks 0 to <paramref name="count"/> - 1 of an aborted upload (a missing one costs nothing). Best
    /// effort: when Redis cannot be reached (often why the upload failed) they expire with their time to live, and the
    /// producer's own failure is what the caller must see, not this one.
    /// </summary>
    private async Task DeleteChunksAsync(string key, int count)
    {
        if (count == 0)
            return;
        try
        {
            await Db.KeyDeleteAsync(ChunkKeys(key, count).ToArray()).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Left to expire.
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
    private Task<long?> ReadAsync(string key, Action<int>? starting, Action<ReadOnlySpan<byte>> arrived, CancellationToken cancellationToken) =>
        direct is null ? ReadThroughMultiplexerAsync(key, starting, arrived, cancellationToken) : ReadDirectAsync(direct, key, starting, arrived, cancellationToken);

    /// <summary>
    /// On one of the store's own connections: the header, then GETs pipelined <see cref="ReadsInFlight"/> ahead, each
    /// chunk handed on in pieces as its bytes come off the socket (no chunk is assembled).
    /// </summary>
    private async Task<long?> ReadDirectAsync(RespConnectionPool pool, string key, Action<int>? starting, Action<ReadOnlySpan<byte>> arrived,
        CancellationToken cancellationToken)
    {
        var connection = await pool.RentAsync(cancellationToken).ConfigureAwait(false);
        var inStep = false;
        try
        {
            var headerKey = HeaderKey(key);
            connection.SendGet(headerKey);
            var headerLength = await connection.ReadBulkLengthAsync($"GET {headerKey}", cancellationToken).ConfigureAwait(false);
            if (headerLength < 0)
            {
                inStep = true;
                return null;
            }

            if (headerLength > 64)
                throw NotOurHeader(key, $"{headerLength} bytes");
            var header = new byte[headerLength];
            var filled = 0;
            await connection.ReadBulkBodyAsync(headerLength, piece =>
            {
                piece.CopyTo(header.AsSpan(filled));
                filled += piece.Length;
            }, $"GET {headerKey}", cancellationToken).ConfigureAwait(false);
            inStep = true;
            var (count, length) = ParseHeader(key, header);
            starting?.Invoke(length);

            inStep = false;
            var requested = Math.Min(count, ReadsInFlight);
            connection.Send(Enumerable.Range(0, requested).Select(i => new[] { "GET", ChunkKey(key, i) }));
            long offset = 0;
            for (var i = 0; i < count; i++)
            {
                var what = $"GET {ChunkKey(key, i)}";
                var chunk = await connection.ReadBulkLengthAsync(what, cancellationToken).ConfigureAwait(false);
                if (chunk < 0 || offset + chunk > length)
                    return null; // expired between the header and this chunk, or overwritten: treat as missing
                await connection.ReadBulkBodyAsync(chunk, arrived, what, cancellationToken).ConfigureAwait(false);
                offset += chunk;
                if (requested < count)
                    connection.SendGet(ChunkKey(key, requested++));
            }

            inStep = true;
            return offset == length ? length : null;
        }
        finally
        {
            // Replies still on their way after an early return, or a failure: the connection is out of step.
            if (inStep)
                pool.Return(connection);
            else
                connection.Dispose();
        }
    }

    private async Task<long?> ReadThroughMultiplexerAsync(string key, Action<int>? starting, Action<ReadOnlySpan<byte>> arrived, CancellationToken cancellationToken)
    {
        var db = Db;
        var header = await db.StringGetAsync(HeaderKey(key));
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
                    reads.Enqueue(db.StringGetLeaseAsync(ChunkKey(key, next++)));
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
        return Db.KeyExistsAsync(HeaderKey(key));
    }

    /// <summary>The header, then the one chunk, through the multiplexer.</summary>
    public async Task<StoredChunk?> ReadChunkAsync(string key, int index, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        cancellationToken.ThrowIfCancellationRequested();
        var db = Db;
        var header = await db.StringGetAsync(HeaderKey(key)).ConfigureAwait(false);
        if (header.IsNull)
            return null;
        var (count, length) = ParseHeader(key, header);
        if (index < 0 || index >= count)
            return new StoredChunk(count, length, null);
        var chunk = await db.StringGetAsync(ChunkKey(key, index)).ConfigureAwait(false);
        return chunk.IsNull ? null : new StoredChunk(count, length, (byte[])chunk!);
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var header = await Db.StringGetAsync(HeaderKey(key));
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
        await Db.KeyDeleteAsync(ChunkKeys(key, count).Append(HeaderKey(key)).ToArray());
    }

    private static string HeaderKey(string key) => $"{key}:n";

    private static string ChunkKey(string key, int index) => $"{key}:{index}";

    private static IEnumerable<RedisKey> ChunkKeys(string key, int count) => Enumerable.Range(0, count).Select(i => (RedisKey)ChunkKey(key, i));

    /// <summary>The header's content: "{chunks}:{total length}".</summary>
    private static string Header(int chunks, long length) => $"{chunks}:{length}";

    private static (int Count, int Length) ParseHeader(string key, RedisValue header)
    {
        // Written by Header; anything else was not written by this store.
        var parts = header.ToString().Split(':');
        if (parts.Length == 2
            && int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count)
            && int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length))
        {
            return (count, length);
        }

        throw NotOurHeader(key, $"'{header}'");
    }

    private static WeightPayloadException NotOurHeader(string key, string held) => new(
        $"claim-check key '{key}': header '{HeaderKey(key)}' holds {held}, expected '<chunk count>:<total length>' (not written by IcosFl's claim-check store?)");
}
