using System.Buffers;
using System.Security.Cryptography;
using IcosFl.Contracts;

namespace IcosFl.Infrastructure.Weights;

/// <summary>
/// Turns <see cref="ModelWeights"/> into the <see cref="WeightsPayload"/> a message carries and back:
/// inline when small, by claim check when large, always with length and SHA-256 digest verified on arrival (the payload
/// crosses a trust boundary: a worker's update reaches the controller, the global model every worker).
/// </summary>
public sealed class WeightTransport(IClaimCheckStore store, WeightTransportOptions options)
{
    public const string KeyPrefix = "icosfl:weights:";

    /// <summary>
    /// The pieces a claim-checked encoding is sent in: the Redis store's chunk, so each is one write, and the broker store's
    /// chunk message (<see cref="BrokerClaimCheckStore"/>).
    /// </summary>
    public const int ChunkBytes = Redis.RedisClaimCheckStore.DefaultChunkBytes;

    /// <summary>
    /// Chunks of one pack sent but not yet stored, at most. Unbounded, four 100 MB packs at once kept some 400 chunks
    /// in flight, mostly allocated afresh (the pool keeps 32) and collected again; with 8, the same four packs and
    /// unpacks through Redis took about 10% less time, four 10 MB ones about 20% less (docs/benchmarks.md).
    /// </summary>
    private const int ChunksInFlight = 8;

    private readonly IClaimCheckStore store = store ?? throw new ArgumentNullException(nameof(store));
    private readonly WeightTransportOptions options = Checked(options);

    /// <summary>
    /// Encodes; inline when the encoding is at most the threshold, else stored under
    /// "icosfl:weights:{keyHint}:{unique id}" (the checksum is known only once the upload is under way) and referenced by that key.
    /// </summary>
    public Task<WeightsPayload> PackAsync(ModelWeights weights, string keyHint, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(keyHint);
        return PackAsync(weights, refuseNonFinite: true, keyHint, cancellationToken);
    }

    /// <summary>
    /// <see cref="PackAsync"/> with <see cref="WeightCodec.EncodeUnchecked"/>: NaN and infinities go out as they are.
    /// Only for simulated adversaries, so that the controller's validation meets them.
    /// </summary>
    public Task<WeightsPayload> PackUncheckedAsync(ModelWeights weights, string keyHint, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(keyHint);
        return PackAsync(weights, refuseNonFinite: false, keyHint, cancellationToken);
    }

    private async Task<WeightsPayload> PackAsync(ModelWeights weights, bool refuseNonFinite, string keyHint, CancellationToken cancellationToken)
    {
        // Inline encodings get an array of their exact length (the message keeps it). Claim-checked ones are cut
        // into pooled chunks, each hashed and sent to the store as soon as it is full (a few at a time), while the rest is encoded:
        // no buffer holds the whole encoding (a fresh 100 MB array per update cost more, its zeroed pages faulted
        // in, than encoding into it). The key is unique per pack (the checksum is known only at the end, after
        // the first chunks left).
        FixedLengthBufferWriter? inline = null;
        PayloadChunkWriter? chunks = null;
        IClaimCheckUpload? upload = null;
        var key = $"{KeyPrefix}{keyHint}:{Guid.NewGuid():N}";
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var inFlight = new Queue<Task>();
        try
        {
            var length = WeightCodec.Encode(weights, refuseNonFinite, Open);
            if (inline is not null)
            {
                var encoded = inline.WrittenArray;
                return new WeightsPayload { Inline = encoded, Length = length, Checksum = Checksum(encoded) };
            }

            chunks!.Flush();
            await upload!.CompleteAsync(cancellationToken).ConfigureAwait(false);
            return new WeightsPayload { ClaimCheckKey = upload.Reference ?? key, Length = length, Checksum = Format(hash) };
        }
        catch when (upload is not null)
        {
            await upload.AbortAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            chunks?.Dispose();
        }

        IBufferWriter<byte> Open(int length)
        {
            if (length <= options.InlineThresholdBytes)
                return inline = new FixedLengthBufferWriter(GC.AllocateUninitializedArray<byte>(length), length);
            var started = store.BeginPut(key, options.ClaimCheckTimeToLive, cancellationToken);
            upload = started;
            return chunks = new PayloadChunkWriter(ChunkBytes, (chunk, filled) =>
            {
                hash.AppendData(chunk.AsSpan(0, filled));
                // At most ChunksInFlight chunks on their way: the encoder is synchronous (MessagePack's writer cannot
                // cross an await), so it waits here for the oldest. The store completes writes from its own I/O, never
                // from this thread; a failed write is not thrown here but in CompleteAsync or AbortAsync.
                if (inFlight.Count == ChunksInFlight)
                    inFlight.Dequeue().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing).GetAwaiter().GetResult();
                // The chunk goes back to the pool once the store has stopped reading it, whether its write landed
                // or failed.
                var written = started.AppendAsync(chunk.AsMemory(0, filled));
                written.ContinueWith(static (_, c) => PayloadChunkWriter.Return((byte[])c!), chunk, CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                inFlight.Enqueue(written);
            });
        }
    }

    /// <summary>Fetches (inline or claim check), verifies length and checksum, decodes.</summary>
    public async Task<ModelWeights> UnpackAsync(WeightsPayload payload, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payload);
        switch (payload)
        {
            case { Inline: not null, ClaimCheckKey: not null }:
                throw new WeightPayloadException(
                    $"weights payload has both inline bytes and claim-check key '{payload.ClaimCheckKey}'; exactly one is allowed");
            case { Inline: { } inline }:
                return Verified(inline, payload, "inline weights", Checksum(inline));
            case { ClaimCheckKey: { } key }:
            {
                // Decoded and hashed chunk by chunk as the chunks arrive, while the next ones are read: no
                // buffer holds the whole encoding. Length and checksum are still checked before any
                // decoding problem is reported, and the weights are handed out only when both hold.
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var decoder = new WeightDecoder(payload.Length);
                var length = await store.StreamAsync(key, piece =>
                {
                    hash.AppendData(piece);
                    decoder.Write(piece);
                }, cancellationToken).ConfigureAwait(false) ?? throw new WeightPayloadException(
                    $"claim-check key '{key}' is missing or expired: the weights are no longer in the claim-check store (time-to-live {options.ClaimCheckTimeToLive})");
                Check(length, payload, $"claim-check key '{key}'", Format(hash));
                return decoder.Complete();
            }
            default:
                throw new WeightPayloadException("weights payload has neither inline bytes nor a claim-check key");
        }
    }

    /// <summary>Length and checksum (<paramref name="actual"/>, of <paramref name="encoded"/>) checked, then decoded (the decoded model owns its arrays).</summary>
    private static ModelWeights Verified(ReadOnlyMemory<byte> encoded, WeightsPayload payload, string source, string actual)
    {
        Check(encoded.Length, payload, source, actual);
        return WeightCodec.Decode(encoded);
    }

    /// <summary>The length and checksum a payload declares against those of the bytes that arrived.</summary>
    private static void Check(long length, WeightsPayload payload, string source, string actual)
    {
        if (length != payload.Length)
        {
            throw new WeightPayloadException(
                $"{source}: length mismatch: declared {payload.Length} bytes, got {length}");
        }

        if (!string.Equals(actual, payload.Checksum, StringComparison.Ordinal))
        {
            throw new WeightPayloadException(
                $"{source}: checksum mismatch: declared {payload.Checksum}, computed {actual} (SHA-256); the weights were altered or corrupted");
        }
    }

    /// <summary>SHA-256 of the encoded weights as 64 lowercase hex digits.</summary>
    public static string Checksum(ReadOnlySpan<byte> encoded) => Convert.ToHexStringLower(SHA256.HashData(encoded));

    /// <summary>The digest of what <paramref name="hash"/> (SHA-256) has seen, as 64 lowercase hex digits.</summary>
    public static string Format(IncrementalHash hash) => Convert.ToHexStringLower(hash.GetCurrentHash());

    private static WeightTransportOptions Checked(WeightTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.InlineThresholdBytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.InlineThresholdBytes,
                "InlineThresholdBytes must be >= 0 (0 sends every payload by claim check)");
        }

        if (options.ClaimCheckTimeToLive <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.ClaimCheckTimeToLive,
                "ClaimCheckTimeToLive must be positive");
        }

        return options;
    }
}
