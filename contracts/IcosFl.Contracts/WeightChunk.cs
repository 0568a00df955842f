namespace IcosFl.Contracts;

/// <summary>
/// Event: one piece of a worker's large update, on its way to the controller (docs/wire-format.md, "Chunked weights").
/// A worker sends the encoding of an update above the inline threshold as chunks 0, 1, ... of at most 1 MiB, in order,
/// then one final message (<see cref="Last"/>, no bytes) naming the whole encoding's length and SHA-256 digest; its
/// <see cref="WeightUpdateSubmitted"/> then names the transfer (<see cref="WeightsPayload.ClaimCheckKey"/> =
/// "transfer:{TransferId:N}"). Only the controller reads the exchange; it stores the chunks under a key it derives from the
/// broker-authenticated worker and the transfer id, and refuses a missing, reordered, duplicated or tampered chunk.
/// </summary>
public sealed record WeightChunk
{
    /// <summary>Names one upload; chosen by the worker, unique per update.</summary>
    public required Guid TransferId { get; init; }
    /// <summary>The sender (checked against the broker user like every worker message).</summary>
    public required string WorkerId { get; init; }
    /// <summary>0, 1, 2, ...; the final message's index is the number of chunks before it.</summary>
    public required int Index { get; init; }
    /// <summary>The chunk's bytes (empty on the final message).</summary>
    public required byte[] Bytes { get; init; }
    /// <summary>Whether this is the final message, which carries <see cref="Length"/> and <see cref="Digest"/> and no bytes.</summary>
    public bool Last { get; init; }
    /// <summary>On the final message: the whole encoding's length in bytes.</summary>
    public long? Length { get; init; }
    /// <summary>On the final message: the SHA-256 of the whole encoding (64 lowercase hex digits).</summary>
    public string? Digest { get; init; }
}
