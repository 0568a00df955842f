using StackExchange.Redis;

namespace IcosFl.Infrastructure.Messaging;

/// <summary>
/// A deployed node's Redis connections: <see cref="State"/> for sagas, ledgers, the scheduler and the
/// worker registry, <see cref="Payloads"/> for claim-checked weights. One and the same connection unless
/// ICOSFL_PAYLOAD_REDIS / --payload-redis names another Redis. Disposing closes both.
/// </summary>
public sealed class RedisConnections(IConnectionMultiplexer state, IConnectionMultiplexer payloads) : IDisposable
{
    /// <summary>The key under which the hostings register <see cref="Payloads"/> (a keyed <see cref="IConnectionMultiplexer"/>).</summary>
    public const string PayloadsServiceKey = "icosfl-payloads";

    public IConnectionMultiplexer State { get; } = state;
    public IConnectionMultiplexer Payloads { get; } = payloads;
    public bool PayloadsSeparate => !ReferenceEquals(State, Payloads);

    public void Dispose()
    {
        if (PayloadsSeparate)
            Payloads.Dispose();
        State.Dispose();
    }
}
