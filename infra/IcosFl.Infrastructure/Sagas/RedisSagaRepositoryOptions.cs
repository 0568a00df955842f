using System.Text.Json;

namespace IcosFl.Infrastructure.Sagas;

/// <summary>
/// How saga instances are kept in Redis. One instance is one hash at
/// <c>{KeyPrefix}saga:{SagaTypeName}:{CorrelationId}</c> holding its version and its JSON body.
/// </summary>
public sealed class RedisSagaRepositoryOptions
{
    /// <summary>Prefix of every key, so several systems (or test runs) can share one Redis.</summary>
    public string KeyPrefix { get; set; } = "icosfl:";

    /// <summary>
    /// Sliding time-to-live of every instance, renewed on each write; null keeps instances until
    /// they complete. Keep it well above the longest quiet spell of a live saga.
    /// </summary>
    public TimeSpan? Expiry { get; set; }

    /// <summary>
    /// How long an instance that completed (a state machine's <c>SetCompletedWhenFinalized</c>) stays
    /// readable, e.g. for <c>icosfl status</c>, before Redis expires it; null deletes it at once.
    /// </summary>
    public TimeSpan? CompletedRetention { get; set; }

    /// <summary>Redis database number; -1 is the connection's default database.</summary>
    public int Database { get; set; } = -1;

    /// <summary>How instance bodies are written; saga state classes need public getters and setters.</summary>
    public JsonSerializerOptions SerializerOptions { get; set; } = new(JsonSerializerDefaults.General);

    /// <summary>Throws with a message naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(KeyPrefix))
            throw new ArgumentException("RedisSagaRepositoryOptions.KeyPrefix must not be empty (e.g. \"icosfl:\").");
        if (Expiry is { } expiry && expiry <= TimeSpan.Zero)
            throw new ArgumentException($"RedisSagaRepositoryOptions.Expiry must be positive or null, was {expiry}.");
        if (CompletedRetention is { } retention && retention <= TimeSpan.Zero)
            throw new ArgumentException($"RedisSagaRepositoryOptions.CompletedRetention must be positive or null, was {retention}.");
        if (Database < -1)
            throw new ArgumentException($"RedisSagaRepositoryOptions.Database must be -1 (default) or a database number, was {Database}.");
        ArgumentNullException.ThrowIfNull(SerializerOptions, nameof(SerializerOptions));
    }

    internal RedisSagaRepositoryOptions Clone() => new()
    {
        KeyPrefix = KeyPrefix,
        Expiry = Expiry,
        CompletedRetention = CompletedRetention,
        Database = Database,
        SerializerOptions = SerializerOptions,
    };
}
