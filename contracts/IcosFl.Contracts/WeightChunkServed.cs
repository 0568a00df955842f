namespace IcosFl.Contracts;

/// <summary>Response to <see cref="WeightChunkRequested"/>: the chunk, the payload's chunk count and length, or why not.</summary>
public sealed record WeightChunkServed
{
    public required string Key { get; init; }
    public required int Index { get; init; }
    public int Count { get; init; }
    public long Length { get; init; }
    public byte[]? Bytes { get; init; }
    /// <summary>The controller no longer holds the payload (expired, deleted, lost with its Redis).</summary>
    public bool Missing { get; init; }
    /// <summary>Set instead of <see cref="Bytes"/> when the chunk is refused (not a global model, no such chunk).</summary>
    public string? Problem { get; init; }
}
