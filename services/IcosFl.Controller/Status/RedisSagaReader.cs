using IcosFl.Controller.Sagas;
using IcosFl.Infrastructure.Sagas;
using StackExchange.Redis;

namespace IcosFl.Controller.Status;

/// <summary>Reads the controller's sagas straight from Redis (the CLI needs no controller to answer).</summary>
public sealed class RedisSagaReader(IConnectionMultiplexer redis, string keyPrefix = "icosfl:") : ISagaReader
{
    private readonly RedisSagaStore<FederationState> _federations = new(redis, new RedisSagaRepositoryOptions { KeyPrefix = keyPrefix });
    private readonly RedisSagaStore<RoundState> _rounds = new(redis, new RedisSagaRepositoryOptions { KeyPrefix = keyPrefix });

    public Task<FederationState?> FederationAsync(Guid federationId) => _federations.GetAsync(federationId);

    public Task<IReadOnlyList<FederationState>> FederationsAsync() => _federations.ListAsync();

    /// <summary>The round's saga as stored (a collecting round's answers are in its ledger: <see cref="FederationStatusReader"/> adds them).</summary>
    public Task<RoundState?> RoundAsync(Guid roundId) => _rounds.GetAsync(roundId);
}
