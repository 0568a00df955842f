using System.Text.Json;
using MassTransit;
using StackExchange.Redis;

namespace IcosFl.Infrastructure.Sagas;

/// <summary>
/// The saga instances of one type in Redis: what the MassTransit repository reads and writes, and
/// what tools (the CLI's <c>ls</c>/<c>status</c>) read directly.
/// Each write is one Lua script, so the version check and the write cannot interleave with another
/// controller's write: a stale update fails with <see cref="ConcurrencyException"/> and MassTransit's
/// retry re-runs the message on fresh state.
/// </summary>
public sealed class RedisSagaStore<TSaga>
    where TSaga : class, ISagaVersion
{
    const string VersionField = "version";
    const string DataField = "data";

    // KEYS[1] instance hash, KEYS[2] index set; ARGV id, version, body, ttl ms (0 = none).
    static readonly LuaScript InsertScript = LuaScript.Prepare("""
        if redis.call('EXISTS', @instanceKey) == 1 then return 0 end
        redis.call('HSET', @instanceKey, 'version', @version, 'data', @body)
        if tonumber(@ttl) > 0 then redis.call('PEXPIRE', @instanceKey, @ttl) end
        redis.call('SADD', @indexKey, @id)
        return 1
        """);

    // Returns 1 written, 0 version mismatch, -1 instance gone.
    static readonly LuaScript UpdateScript = LuaScript.Prepare("""
        local current = redis.call('HGET', @instanceKey, 'version')
        if not current then return -1 end
        if current ~= @expected then return 0 end
        redis.call('HSET', @instanceKey, 'version', @version, 'data', @body)
        if tonumber(@ttl) > 0 then redis.call('PEXPIRE', @instanceKey, @ttl) else redis.call('PERSIST', @instanceKey) end
        return 1
        """);

    // Completion: delete, or keep the final state for a retention time. Same return codes.
    static readonly LuaScript CompleteScript = LuaScript.Prepare("""
        local current = redis.call('HGET', @instanceKey, 'version')
        if not current then return -1 end
        if current ~= @expected then return 0 end
        if tonumber(@ttl) > 0 then
            redis.call('HSET', @instanceKey, 'version', @version, 'data', @body)
            redis.call('PEXPIRE', @instanceKey, @ttl)
        else
            redis.call('DEL', @instanceKey)
            redis.call('SREM', @indexKey, @id)
        end
        return 1
        """);

    readonly IConnectionMultiplexer _redis;
    readonly RedisSagaRepositoryOptions _options;
    readonly RedisKey _indexKey;
    readonly string _instanceKeyPrefix;

    public RedisSagaStore(IConnectionMultiplexer redis, RedisSagaRepositoryOptions options)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _redis = redis;
        _options = options;
        SagaTypeName = typeof(TSaga).Name;
        _instanceKeyPrefix = $"{options.KeyPrefix}saga:{SagaTypeName}:";
        _indexKey = $"{options.KeyPrefix}saga-index:{SagaTypeName}";
    }

    /// <summary>The type name used in keys, e.g. <c>FederationState</c>.</summary>
    public string SagaTypeName { get; }

    public string KeyFor(Guid correlationId) => _instanceKeyPrefix + correlationId.ToString("D");

    IDatabase Database => _redis.GetDatabase(_options.Database);

    /// <summary>The instance, or null when there is none (never created, completed, or expired).</summary>
    public async Task<TSaga?> GetAsync(Guid correlationId)
    {
        var body = await Database.HashGetAsync(KeyFor(correlationId), DataField).ConfigureAwait(false);
        return body.IsNullOrEmpty ? null : Deserialize(body!, correlationId);
    }

    /// <summary>Every instance of this saga type that Redis still holds, in no particular order.</summary>
    public async Task<IReadOnlyList<TSaga>> ListAsync()
    {
        var database = Database;
        var members = await database.SetMembersAsync(_indexKey).ConfigureAwait(false);
        var ids = members.Select(m => Guid.Parse(m.ToString())).ToArray();
        var bodies = await Task.WhenAll(ids.Select(id => database.HashGetAsync(KeyFor(id), DataField))).ConfigureAwait(false);

        var instances = new List<TSaga>(ids.Length);
        var expired = new List<RedisValue>();
        for (var i = 0; i < ids.Length; i++)
        {
            if (bodies[i].IsNullOrEmpty)
                expired.Add(ids[i].ToString("D")); // expired by TTL: the index lags behind, tidy it here
            else
                instances.Add(Deserialize(bodies[i]!, ids[i]));
        }

        if (expired.Count > 0)
            await database.SetRemoveAsync(_indexKey, expired.ToArray()).ConfigureAwait(false);
        return instances;
    }

    /// <summary>Stores a new instance with version 1 unless one with its id exists (then returns false).</summary>
    public async Task<bool> InsertAsync(TSaga instance)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var previousVersion = instance.Version;
        instance.Version = 1;
        var inserted = (int)await Database.ScriptEvaluateAsync(InsertScript, new
        {
            instanceKey = (RedisKey)KeyFor(instance.CorrelationId),
            indexKey = _indexKey,
            id = instance.CorrelationId.ToString("D"),
            version = instance.Version,
            body = Serialize(instance),
            ttl = Milliseconds(_options.Expiry),
        }).ConfigureAwait(false) == 1;

        if (!inserted)
            instance.Version = previousVersion;
        return inserted;
    }

    /// <summary>
    /// Writes the instance if Redis still holds the version it was loaded with, and increments its
    /// <see cref="ISagaVersion.Version"/>; otherwise throws <see cref="ConcurrencyException"/>.
    /// </summary>
    public async Task UpdateAsync(TSaga instance)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var expected = instance.Version;
        instance.Version = expected + 1;
        var result = await EvaluateVersioned(UpdateScript, instance, expected, _options.Expiry).ConfigureAwait(false);
        ThrowUnlessWritten(result, instance, expected, "update");
    }

    /// <summary>
    /// Removes a completed instance (or keeps it for <see cref="RedisSagaRepositoryOptions.CompletedRetention"/>),
    /// with the same version check as <see cref="UpdateAsync"/>.
    /// </summary>
    public async Task CompleteAsync(TSaga instance)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var expected = instance.Version;
        instance.Version = expected + 1;
        var result = await EvaluateVersioned(CompleteScript, instance, expected, _options.CompletedRetention).ConfigureAwait(false);
        ThrowUnlessWritten(result, instance, expected, "completion");
    }

    /// <summary>Time left before Redis expires the instance; null when it has no expiry or does not exist.</summary>
    public Task<TimeSpan?> GetTimeToLiveAsync(Guid correlationId) => Database.KeyTimeToLiveAsync(KeyFor(correlationId));

    async Task<int> EvaluateVersioned(LuaScript script, TSaga instance, int expected, TimeSpan? ttl) =>
        (int)await Database.ScriptEvaluateAsync(script, new
        {
            instanceKey = (RedisKey)KeyFor(instance.CorrelationId),
            indexKey = _indexKey,
            id = instance.CorrelationId.ToString("D"),
            expected = expected.ToString(System.Globalization.CultureInfo.InvariantCulture),
            version = instance.Version,
            body = Serialize(instance),
            ttl = Milliseconds(ttl),
        }).ConfigureAwait(false);

    void ThrowUnlessWritten(int result, TSaga instance, int expected, string operation)
    {
        if (result == 1)
            return;

        instance.Version = expected;
        var reason = result == 0
            ? $"Redis holds a newer version than {expected}: another message changed it first"
            : "Redis no longer holds it: it completed or expired meanwhile";
        throw new ConcurrencyException(
            $"Saga {SagaTypeName} {instance.CorrelationId:D}: {operation} rejected, {reason}.",
            typeof(TSaga), instance.CorrelationId);
    }

    string Serialize(TSaga instance) => JsonSerializer.Serialize(instance, _options.SerializerOptions);

    TSaga Deserialize(string body, Guid correlationId)
    {
        try
        {
            return JsonSerializer.Deserialize<TSaga>(body, _options.SerializerOptions)
                ?? throw new JsonException("the body is JSON null");
        }
        catch (JsonException exception)
        {
            throw new InvalidOperationException(
                $"Saga {SagaTypeName} {correlationId:D} at key {KeyFor(correlationId)} cannot be read as {typeof(TSaga).FullName}: {exception.Message}",
                exception);
        }
    }

    static long Milliseconds(TimeSpan? ttl) => ttl is { } value ? (long)Math.Ceiling(value.TotalMilliseconds) : 0;
}
