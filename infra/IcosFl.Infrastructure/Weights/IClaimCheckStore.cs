namespace IcosFl.Infrastructure.Weights;

/// <summary>
/// Where payloads too large to travel inside a message wait to be fetched (claim check pattern).
/// Entries expire on their own, so a federation that dies leaves nothing behind for long.
/// </summary>
public interface IClaimCheckStore
{
    Task PutAsync(string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, CancellationToken cancellationToken = default);

    /// <summary>The stored bytes, or null when the key is missing or has expired.</summary>
    Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default);

    Task DeleteAsync(string key, CancellationToken cancellationToken = default);
}
