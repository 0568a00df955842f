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
    /// "icosfl:weights:{keyHint}:{checksum}" and referenced by that key.
    /// </summary>
    public Task<WeightsPayload> PackAsync(ModelWeights weights, string keyHint, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(keyHint);
        return PackEncodedAsync(WeightCodec.Encode(weights), keyHint, cancellationToken);
    }

    /// <summary>
    /// <see cref="PackAsync"/> with <see cref="WeightCodec.EncodeUnchecked"/>: NaN and infinities go out as they are.
    /// Only for simulated adversaries, so that the controller's validation meets them.
    /// </summary>
    public Task<WeightsPayload> PackUncheckedAsync(ModelWeights weights, string keyHint, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(keyHint);
        return PackEncodedAsync(WeightCodec.EncodeUnchecked(weights), keyHint, cancellationToken);
    }

    private async Task<WeightsPayload> PackEncodedAsync(byte[] encoded, string keyHint, CancellationToken cancellationToken)
    {
        var checksum = Checksum(encoded);
        if (encoded.Length <= options.InlineThresholdBytes)
        {
            return new WeightsPayload { Inline = encoded, Length = encoded.Length, Checksum = checksum };
        }

        // The checksum in the key makes it content-addressed: packing the same weights twice stores one entry.
        var key = $"{KeyPrefix}{keyHint}:{checksum}";
        await store.PutAsync(key, encoded, options.ClaimCheckTimeToLive, cancellationToken).ConfigureAwait(false);
        return new WeightsPayload { ClaimCheckKey = key, Length = encoded.Length, Checksum = checksum };
    }

    /// <summary>Fetches (inline or claim check), verifies length and checksum, decodes.</summary>
    public async Task<ModelWeights> UnpackAsync(WeightsPayload payload, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payload);
        byte[] encoded;
        string source;
        switch (payload)
        {
            case { Inline: not null, ClaimCheckKey: not null }:
                throw new WeightPayloadException(
                    $"weights payload has both inline bytes and claim-check key '{payload.ClaimCheckKey}'; exactly one is allowed");
            case { Inline: { } inline }:
                encoded = inline;
                source = "inline weights";
                break;
            case { ClaimCheckKey: { } key }:
                encoded = await store.GetAsync(key, cancellationToken).ConfigureAwait(false)
                    ?? throw new WeightPayloadException(
                        $"claim-check key '{key}' is missing or expired: the weights are no longer in the claim-check store (time-to-live {options.ClaimCheckTimeToLive})");
                source = $"claim-check key '{key}'";
                break;
            default:
                throw new WeightPayloadException("weights payload has neither inline bytes nor a claim-check key");
        }

        if (encoded.Length != payload.Length)
        {
            throw new WeightPayloadException(
                $"{source}: length mismatch: declared {payload.Length} bytes, got {encoded.Length}");
        }

        var actual = Checksum(encoded);
        if (!string.Equals(actual, payload.Checksum, StringComparison.Ordinal))
        {
            throw new WeightPayloadException(
                $"{source}: checksum mismatch: declared {payload.Checksum}, computed {actual} (XxHash64); the weights were altered or corrupted");
        }

        return WeightCodec.Decode(encoded);
    }

    /// <summary>XxHash64 of the encoded weights as 16 lowercase hex digits.</summary>
    public static string Checksum(ReadOnlySpan<byte> encoded) =>
        XxHash64.HashToUInt64(encoded).ToString("x16", CultureInfo.InvariantCulture);

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
