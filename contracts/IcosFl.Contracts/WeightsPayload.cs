namespace IcosFl.Contracts;

/// <summary>
/// Model weights as they travel in a message: the MessagePack encoding of a <see cref="ModelWeights"/>,
/// either inline or, above the claim-check threshold, stored aside and referenced by key.
/// </summary>
public sealed record WeightsPayload
{
    /// <summary>The encoded weights, when they travel inline.</summary>
    public byte[]? Inline { get; init; }
    /// <summary>Key of the encoded weights in the claim-check store, when they do not travel inline.</summary>
    public string? ClaimCheckKey { get; init; }
    /// <summary>Length of the encoded weights in bytes.</summary>
    public required long Length { get; init; }
    /// <summary>XxHash64 of the encoded weights (16 lowercase hex digits), checked on arrival.</summary>
    public required string Checksum { get; init; }
}
