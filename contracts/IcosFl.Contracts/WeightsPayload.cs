namespace IcosFl.Contracts;

/// <summary>
/// Model weights as they travel in a message: the MessagePack encoding of a <see cref="ModelWeights"/>,
/// either inline or, above the claim-check threshold, stored aside and referenced by key (a worker's update: "transfer:{id}", its chunks sent as <see cref="WeightChunk"/>).
/// </summary>
public sealed record WeightsPayload
{
    /// <summary>The encoded weights, when they travel inline.</summary>
    public byte[]? Inline { get; init; }
    /// <summary>Key of the encoded weights in the claim-check store, when they do not travel inline.</summary>
    public string? ClaimCheckKey { get; init; }
    /// <summary>Length of the encoded weights in bytes.</summary>
    public required long Length { get; init; }
    /// <summary>SHA-256 of the encoded weights (64 lowercase hex digits), checked on arrival before anything is decoded.</summary>
    public required string Checksum { get; init; }
}
