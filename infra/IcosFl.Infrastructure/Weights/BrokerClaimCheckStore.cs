using System.Buffers;
using System.Security.Cryptography;
using IcosFl.Contracts;
using MassTransit;

namespace IcosFl.Infrastructure.Weights;

/// <summary>
/// A worker's claim-check store when the only thing it may reach is the broker (issue 16): the payloads themselves stay
/// in the controller's private Redis, and travel to and from it as messages.
/// <list type="bullet">
/// <item>Upload (<see cref="BeginPut"/>): the encoding goes out as <see cref="WeightChunk"/> messages of at most
/// <see cref="WeightTransport.ChunkBytes"/>, in order, each publish confirmed by the broker (the transport keeps a few in
/// flight), then a final message with the length and SHA-256 digest. The payload is then named
/// "transfer:{id}" (<see cref="IClaimCheckUpload.Reference"/>): the controller stores it under a key of its own making.</item>
/// <item>Download (<see cref="StreamAsync"/>): chunk after chunk of a global model is asked of the controller
/// (<see cref="WeightChunkRequested"/>), <see cref="ChunksInFlight"/> at a time, and handed on in order; the transport
/// checks length and digest against those the controller's message declared.</item>
/// </list>
/// Nothing is deleted from here (<see cref="DeleteAsync"/> does nothing): the controller's keys are its own to remove.
/// </summary>
/// <param name="bus">The worker's bus (resolved on first use: the store is built before the bus is).</param>
/// <param name="workerId">The sending worker, which the broker user of the bus must stand for.</param>
/// <param name="requestTimeout">How long one chunk may take to be served (30 s unless given).</param>
public sealed class BrokerClaimCheckStore(Func<IBus> bus, string workerId, TimeSpan? requestTimeout = null) : IClaimCheckStore
{
    /// <summary>How a payload uploaded as chunks is named in a message: this prefix and the transfer id (32 hex digits).</summary>
    public const string TransferPrefix = "transfer:";

    /// <summary>Chunk requests of one download in flight at once: enough to hide the round trip, few enough to bound memory (8 MiB).</summary>
    public const int ChunksInFlight = 8;

    private readonly Func<IBus> bus = bus ?? throw new ArgumentNullException(nameof(bus));
    private readonly string workerId = !string.IsNullOrWhiteSpace(workerId) ? workerId : throw new ArgumentException("a worker id is needed", nameof(workerId));
    private readonly TimeSpan requestTimeout = requestTimeout ?? TimeSpan.FromSeconds(30);

    /// <summary>The reference of a transfer, as <see cref="WeightsPayload.ClaimCheckKey"/> carries it.</summary>
    public static string ReferenceOf(Guid transferId) => $"{TransferPrefix}{transferId:N}";

    /// <summary>The transfer a reference names, or null when it names none (any other text).</summary>
    public static Guid? TransferOf(string? reference) =>
        reference is { Length: 41 } && reference.StartsWith(TransferPrefix, StringComparison.Ordinal)
        && Guid.TryParseExact(reference.AsSpan(TransferPrefix.Length), "N", out var id)
            ? id
            : null;

    public Task PutAsync(string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, CancellationToken cancellationToken = default) =>
        BeginPut(key, timeToLive, cancellationToken).WriteWholeAsync(payload, cancellationToken);

    /// <summary>An upload as chunk messages; <paramref name="key"/> is not sent (the controller names the payload itself).</summary>
    public IClaimCheckUpload BeginPut(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        return new Upload(this, cancellationToken);
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        var gathered = new ArrayBufferWriter<byte>();
        return await StreamAsync(key, piece => gathered.Write(piece), cancellationToken).ConfigureAwait(false) is null
            ? null
            : gathered.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Chunk 0 first (it tells the count and length), then the rest with <see cref="ChunksInFlight"/> requests in flight,
    /// handed on in order. Null when the controller no longer holds the payload; a chunk that does not fit (another key,
    /// index, count or length than asked and announced) is refused.
    /// </summary>
    public async Task<long?> StreamAsync(string key, Action<ReadOnlySpan<byte>> arrived, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentNullException.ThrowIfNull(arrived);
        var client = bus().CreateRequestClient<WeightChunkRequested>(RequestTimeout.After(ms: (int)requestTimeout.TotalMilliseconds));
        var first = await RequestAsync(client, key, 0, cancellationToken).ConfigureAwait(false);
        if (first is null)
            return null;
        var (count, length) = (first.Count, first.Length);
        if (count < 1 || length < 0)
            throw new WeightPayloadException($"claim-check key '{key}': the controller announced {count} chunks of {length} bytes in all");
        long received = 0;
        Take(first, 0);
        var pending = new Queue<Task<WeightChunkServed?>>();
        var next = 1;
        try
        {
            for (var i = 1; i < count; i++)
            {
                while (next < count && pending.Count < ChunksInFlight)
                    pending.Enqueue(RequestAsync(client, key, next++, cancellationToken));
                var served = await pending.Dequeue().ConfigureAwait(false);
                if (served is null)
                    return null;
                Take(served, i);
            }
        }
        finally
        {
            // Requests still in flight after a failure: their answers are dropped when they land.
            while (pending.Count > 0)
                _ = pending.Dequeue().ContinueWith(static _ => { }, TaskScheduler.Default);
        }

        return received == length
            ? length
            : throw new WeightPayloadException($"claim-check key '{key}': the controller announced {length} bytes, its {count} chunks held {received}");

        void Take(WeightChunkServed served, int index)
        {
            if (served.Index != index || served.Count != count || served.Length != length || !string.Equals(served.Key, key, StringComparison.Ordinal))
            {
                throw new WeightPayloadException(
                    $"claim-check key '{key}': asked for chunk {index} of {count} ({length} bytes), was served chunk {served.Index} of {served.Count} ({served.Length} bytes) of '{served.Key}'");
            }

            var bytes = served.Bytes ?? [];
            if (received + bytes.Length > length)
                throw new WeightPayloadException($"claim-check key '{key}': chunk {index} reaches past the announced {length} bytes");
            received += bytes.Length;
            arrived(bytes);
        }
    }

    private async Task<WeightChunkServed?> RequestAsync(IRequestClient<WeightChunkRequested> client, string key, int index, CancellationToken cancellationToken)
    {
        Response<WeightChunkServed> response;
        try
        {
            response = await client.GetResponse<WeightChunkServed>(new WeightChunkRequested { WorkerId = workerId, Key = key, Index = index },
                cancellationToken).ConfigureAwait(false);
        }
        catch (RequestTimeoutException)
        {
            throw new WeightPayloadException($"claim-check key '{key}': chunk {index} was not served within {requestTimeout.TotalSeconds:0.#} s (is the controller running?)");
        }

        return response.Message switch
        {
            { Problem: null, Bytes: not null } served => served,
            { Missing: true } => null,
            var refused => throw new WeightPayloadException($"claim-check key '{key}': chunk {index} refused by the controller: {refused.Problem ?? "no bytes"}"),
        };
    }

    /// <summary>Nothing to do: the payloads are the controller's, which deletes or lets them expire.</summary>
    public Task DeleteAsync(string key, CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <summary>
    /// Chunks published as they are appended (one copy each: the message owns its bytes), the first one confirmed before
    /// the next leaves so that the exchange exists and the rest go out in order on the bus's channel; the final message
    /// at <see cref="CompleteAsync"/>, once every chunk is confirmed.
    /// </summary>
    private sealed class Upload(BrokerClaimCheckStore store, CancellationToken cancellationToken) : IClaimCheckUpload
    {
        private readonly Guid transferId = Guid.NewGuid();
        private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly List<Task> sent = [];
        private long length;
        private int count;
        private bool ended;

        public string? Reference => ReferenceOf(transferId);

        public Task AppendAsync(ReadOnlyMemory<byte> piece)
        {
            ObjectDisposedException.ThrowIf(ended, this);
            var first = sent.Count;
            for (var offset = 0; offset < piece.Length; offset += WeightTransport.ChunkBytes)
            {
                var bytes = piece.Slice(offset, Math.Min(WeightTransport.ChunkBytes, piece.Length - offset)).ToArray();
                hash.AppendData(bytes);
                length += bytes.Length;
                // Waiting here is what the encoder does anyway (it is synchronous and waits for its oldest chunk): the
                // first publish also declares the exchange, and a later one must not overtake it.
                if (sent.Count == 1 && !sent[0].IsCompleted)
                    sent[0].ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing).GetAwaiter().GetResult();
                sent.Add(Publish(new WeightChunk { TransferId = transferId, WorkerId = store.workerId, Index = count++, Bytes = bytes }));
            }

            return sent.Count - first == 1 ? sent[first] : Task.WhenAll(sent.Skip(first));
        }

        public async Task CompleteAsync(CancellationToken completing = default)
        {
            ended = true;
            try
            {
                await Task.WhenAll(sent).ConfigureAwait(false);
                completing.ThrowIfCancellationRequested();
                await Publish(new WeightChunk
                {
                    TransferId = transferId, WorkerId = store.workerId, Index = count, Bytes = [], Last = true, Length = length,
                    Digest = Convert.ToHexStringLower(hash.GetCurrentHash()),
                }).ConfigureAwait(false);
            }
            finally
            {
                hash.Dispose();
            }
        }

        /// <summary>Tells the controller the transfer is abandoned (a final message without digest), best effort.</summary>
        public async Task AbortAsync()
        {
            ended = true;
            hash.Dispose();
            try
            {
                await Task.WhenAll(sent).ConfigureAwait(false);
                await Publish(new WeightChunk { TransferId = transferId, WorkerId = store.workerId, Index = count, Bytes = [], Last = true })
                    .ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The producer's failure is what the caller must see; the controller forgets an idle transfer on its own.
            }
        }

        private Task Publish(WeightChunk chunk) => store.bus().Publish(chunk, cancellationToken);
    }
}
