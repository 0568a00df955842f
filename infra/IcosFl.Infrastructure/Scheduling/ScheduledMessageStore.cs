using System.Text.Json;
using StackExchange.Redis;

namespace IcosFl.Infrastructure.Scheduling;

/// <summary>A due message reserved for one dispatcher; <see cref="Raw"/> identifies exactly that version of it.</summary>
public sealed record ClaimedMessage(ScheduledMessage Message, string Raw);

/// <summary>
/// Scheduled messages in Redis: a sorted set of token ids scored by due time (unix ms) and a hash of
/// token id to message. Claiming moves a due entry's score forward by the claim timeout in the same
/// Lua script that reads it, so two controllers polling together never both take it; an entry whose
/// claimant died becomes due again when that timeout passes (at-least-once delivery).
/// </summary>
public sealed class ScheduledMessageStore
{
    static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.General);

    static readonly LuaScript ScheduleScript = LuaScript.Prepare("""
        redis.call('HSET', @messagesKey, @id, @body)
        redis.call('ZADD', @dueKey, @due, @id)
        return 1
        """);

    static readonly LuaScript CancelScript = LuaScript.Prepare("""
        local removed = redis.call('HDEL', @messagesKey, @id)
        redis.call('ZREM', @dueKey, @id)
        return removed
        """);

    // Returns id1, body1, id2, body2, ... of the entries claimed.
    static readonly LuaScript ClaimScript = LuaScript.Prepare("""
        local ids = redis.call('ZRANGEBYSCORE', @dueKey, '-inf', @now, 'LIMIT', 0, tonumber(@limit))
        local claimed = {}
        for _, id in ipairs(ids) do
            local body = redis.call('HGET', @messagesKey, id)
            if body then
                redis.call('ZADD', @dueKey, @leaseUntil, id)
                table.insert(claimed, id)
                table.insert(claimed, body)
            else
                redis.call('ZREM', @dueKey, id)
            end
        end
        return claimed
        """);

    // Removes the entry only if it is still the claimed version (not rescheduled meanwhile).
    static readonly LuaScript CompleteScript = LuaScript.Prepare("""
        if redis.call('HGET', @messagesKey, @id) ~= @body then return 0 end
        redis.call('HDEL', @messagesKey, @id)
        redis.call('ZREM', @dueKey, @id)
        return 1
        """);

    static readonly LuaScript ReleaseScript = LuaScript.Prepare("""
        if redis.call('HGET', @messagesKey, @id) ~= @body then return 0 end
        redis.call('HSET', @messagesKey, @id, @newBody)
        redis.call('ZADD', @dueKey, @due, @id)
        return 1
        """);

    readonly IConnectionMultiplexer _redis;
    readonly int _database;
    readonly RedisKey _dueKey;
    readonly RedisKey _messagesKey;
    TaskCompletionSource _scheduledHere = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ScheduledMessageStore(IConnectionMultiplexer redis, RedisMessageSchedulerOptions options)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _redis = redis;
        _database = options.Database;
        _dueKey = $"{options.KeyPrefix}scheduler:due";
        _messagesKey = $"{options.KeyPrefix}scheduler:messages";
    }

    IDatabase Database => _redis.GetDatabase(_database);

    /// <summary>Stores the message, replacing an earlier one with the same token; then completes <see cref="ScheduledHere"/>.</summary>
    public async Task ScheduleAsync(ScheduledMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        await Database.ScriptEvaluateAsync(ScheduleScript, new
        {
            dueKey = _dueKey,
            messagesKey = _messagesKey,
            id = message.TokenId.ToString("N"),
            body = JsonSerializer.Serialize(message, JsonOptions),
            due = ToScore(message.ScheduledTimeUtc),
        }).ConfigureAwait(false);
        Interlocked.Exchange(ref _scheduledHere, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>Completes when this store (this process) next stores a message: what wakes an idle dispatcher.</summary>
    public Task ScheduledHere => Volatile.Read(ref _scheduledHere).Task;

    /// <summary>When the earliest waiting message is due (a claimed one: when its claim lapses), or null when none waits.</summary>
    public async Task<DateTime?> NextDueAsync()
    {
        var first = await Database.SortedSetRangeByRankWithScoresAsync(_dueKey, 0, 0).ConfigureAwait(false);
        return first.Length == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds((long)first[0].Score).UtcDateTime;
    }

    /// <summary>Removes the message with this token; false when there was none (already sent or never scheduled).</summary>
    public async Task<bool> CancelAsync(Guid tokenId) =>
        (int)await Database.ScriptEvaluateAsync(CancelScript, new
        {
            dueKey = _dueKey,
            messagesKey = _messagesKey,
            id = tokenId.ToString("N"),
        }).ConfigureAwait(false) == 1;

    /// <summary>Reserves up to <paramref name="limit"/> messages due at <paramref name="nowUtc"/> for <paramref name="claimTimeout"/>.</summary>
    public async Task<IReadOnlyList<ClaimedMessage>> ClaimDueAsync(DateTime nowUtc, TimeSpan claimTimeout, int limit)
    {
        var result = (RedisResult[])(await Database.ScriptEvaluateAsync(ClaimScript, new
        {
            dueKey = _dueKey,
            messagesKey = _messagesKey,
            now = ToScore(nowUtc),
            leaseUntil = ToScore(nowUtc + claimTimeout),
            limit,
        }).ConfigureAwait(false))!;

        var claimed = new List<ClaimedMessage>(result.Length / 2);
        for (var i = 0; i + 1 < result.Length; i += 2)
        {
            var raw = (string)result[i + 1]!;
            claimed.Add(new ClaimedMessage(Deserialize(raw, (string)result[i]!), raw));
        }
        return claimed;
    }

    /// <summary>Forgets a message that was sent. False if it was cancelled or rescheduled after the claim.</summary>
    public async Task<bool> CompleteAsync(ClaimedMessage claimed) =>
        (int)await Database.ScriptEvaluateAsync(CompleteScript, new
        {
            dueKey = _dueKey,
            messagesKey = _messagesKey,
            id = claimed.Message.TokenId.ToString("N"),
            body = claimed.Raw,
        }).ConfigureAwait(false) == 1;

    /// <summary>Puts a message whose send failed back, due again at <paramref name="retryAtUtc"/>, with one more attempt counted.</summary>
    public async Task<bool> ReleaseAsync(ClaimedMessage claimed, DateTime retryAtUtc) =>
        (int)await Database.ScriptEvaluateAsync(ReleaseScript, new
        {
            dueKey = _dueKey,
            messagesKey = _messagesKey,
            id = claimed.Message.TokenId.ToString("N"),
            body = claimed.Raw,
            newBody = JsonSerializer.Serialize(claimed.Message with { Attempts = claimed.Message.Attempts + 1 }, JsonOptions),
            due = ToScore(retryAtUtc),
        }).ConfigureAwait(false) == 1;

    /// <summary>The waiting message with this token, or null.</summary>
    public async Task<ScheduledMessage?> GetAsync(Guid tokenId)
    {
        var id = tokenId.ToString("N");
        var raw = await Database.HashGetAsync(_messagesKey, id).ConfigureAwait(false);
        return raw.IsNullOrEmpty ? null : Deserialize(raw!, id);
    }

    /// <summary>How many messages wait (claimed ones included).</summary>
    public Task<long> CountAsync() => Database.HashLengthAsync(_messagesKey);

    static double ToScore(DateTime time) => new DateTimeOffset(AsUtc(time)).ToUnixTimeMilliseconds();

    /// <summary>MassTransit's scheduled times are UTC; an unspecified kind is read as UTC, a local one converted.</summary>
    internal static DateTime AsUtc(DateTime time) => time.Kind switch
    {
        DateTimeKind.Utc => time,
        DateTimeKind.Local => time.ToUniversalTime(),
        _ => DateTime.SpecifyKind(time, DateTimeKind.Utc),
    };

    ScheduledMessage Deserialize(string raw, string id)
    {
        try
        {
            return JsonSerializer.Deserialize<ScheduledMessage>(raw, JsonOptions) ?? throw new JsonException("the entry is JSON null");
        }
        catch (JsonException exception)
        {
            throw new InvalidOperationException($"Scheduled message {id} in {_messagesKey} is unreadable: {exception.Message}", exception);
        }
    }
}
