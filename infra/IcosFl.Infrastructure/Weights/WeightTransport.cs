using System.Globalization;
using System.IO.Hashing;
using IcosFl.Contracts;

namespace IcosFl.Infrastructure.Weights;

/// <summary>
/// Turns <see cref="ModelWeights"/> into the <see cref="WeightsPayload"/> a message carries and back:
/// inline when small, by claim check when large, always with length and checksum verified on arrival.
/// </summary>
public sealed class WeightTransport(IClaimCheckStore store, WeightTransportOptions options)
{
    public const string KeyPrefix = "icosfl:weights:";

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
        // Inline encodings get an array of their exact length (the message keeps it); claim-checked ones
        // a pooled buffer, only read until the store has it: a fresh 100 MB array per update costs
        // more (zeroed pages faulted in) than encoding into it. A claim-checked encoding is uploaded and
        // hashed while it is produced, a chunk at a time: the store's writes overlap the encoding.
        // The key is unique per pack (the checksum is known only at the end, after the first chunks left).
        byte[]? buffer = null;
        byte[]? rented = null;
        IClaimCheckUpload? upload = null;
        var key = $"{KeyPrefix}{keyHint}:{Guid.NewGuid():N}";
        var hash = new XxHash64();
        var hashed = 0;
        try
        {
            WeightCodec.Encode(weights, refuseNonFinite, Allocate, out var encodedLength, Final);
            var checksum = Format(hash.GetCurrentHashAsUInt64());
            if (upload is null)
            {
                return new WeightsPayload { Inline = buffer, Length = encodedLength, Checksum = checksum };
            }

            await upload.CompleteAsync(cancellationToken).ConfigureAwait(false);
            return new WeightsPayload { ClaimCheckKey = key, Length = encodedLength, Checksum = checksum };
        }
        catch when (upload is not null)
        {
            await upload.AbortAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            // Complete and abort return only once the store has stopped reading the buffer.
            if (rented is not null)
                PayloadBuffers.Pool.Return(rented);
        }

        byte[] Allocate(int length)
        {
            if (length <= options.InlineThresholdBytes)
                return buffer = GC.AllocateUninitializedArray<byte>(length);
            buffer = rented = PayloadBuffers.Pool.Rent(length);
            upload = store.BeginPut(key, rented.AsMemory(0, length), options.ClaimCheckTimeToLive);
            return rented;
        }

        void Final(int finalBytes)
        {
            hash.Append(buffer.AsSpan(hashed, finalBytes - hashed));
            hashed = finalBytes;
            upload?.Advance(finalBytes);
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
                // Hashed chunk by chunk as the chunks arrive, while the next ones are read.
                var hash = new XxHash64();
                using (var fetched = await store.FetchAsync(key, hash.Append, cancellationToken).ConfigureAwait(false)
                    ?? throw new WeightPayloadException(
                        $"claim-check key '{key}' is missing or expired: the weights are no longer in the claim-check store (time-to-live {options.ClaimCheckTimeToLive})"))
                {
                    return Verified(fetched.Bytes, payload, $"claim-check key '{key}'", Format(hash.GetCurrentHashAsUInt64()));
                }
            default:
                throw new WeightPayloadException("weights payload has neither inline bytes nor a claim-check key");
        }
    }

    /// <summary>Length and checksum (<paramref name="actual"/>, of <paramref name="encoded"/>) checked, then decoded (the decoded model owns its arrays).</summary>
    private static ModelWeights Verified(ReadOnlyMemory<byte> encoded, WeightsPayload payload, string source, string actual)
    {
        if (encoded.Length != payload.Length)
        {
            throw new WeightPayloadException(
                $"{source}: length mismatch: declared {payload.Length} bytes, got {encoded.Length}");
        }

        if (!string.Equals(actual, payload.Checksum, StringComparison.Ordinal))
        {
            throw new WeightPayloadException(
                $"{source}: checksum mismatch: declared {payload.Checksum}, computed {actual} (XxHash64); the weights were altered or corrupted");
        }

        return WeightCodec.Decode(encoded);
    }

    /// <summary>XxHash64 of the encoded weights as 16 lowercase hex digits.</summary>
    public static string Checksum(ReadOnlySpan<byte> encoded) => Format(XxHash64.HashToUInt64(encoded));

    private static string Format(ulong hash) => hash.ToString("x16", CultureInfo.InvariantCulture);

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
