using IcosFl.Controller.Rounds;
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

    private readonly RedisRoundLedger _ledger = new(redis, keyPrefix);

    /// <summary>The round's saga; while it collects, with the answers its ledger holds so far.</summary>
    public async Task<RoundState?> RoundAsync(Guid roundId) => await RoundLedgerView.WithAnswersAsync(await _rounds.GetAsync(roundId), _ledger);
}
