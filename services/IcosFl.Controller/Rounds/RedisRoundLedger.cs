using IcosFl.Controller.Messages;
using IcosFl.Controller.Sagas;
using StackExchange.Redis;

namespace IcosFl.Controller.Rounds;

/// <summary>
/// The round ledger in Redis, shared by every controller process and surviving restarts. Per round and
/// phase, under one hash tag: "meta" (hash: expected, answered, closed, completedBy, ttl), "expected"
/// (set of worker ids), "answers" (hash: worker -> "c" counted, or "r" + reason), "entries" (list, in
/// arrival order, see <see cref="RoundLedgerEntries"/>) and "foreign" (set of unselected senders already
/// noted). Every operation is one Lua script, so concurrent answers never race. Keys expire after the retention.
/// </summary>
public sealed class RedisRoundLedger(IConnectionMultiplexer redis, string keyPrefix = "icosfl:", TimeSpan? retention = null) : IRoundLedger
{
    private const string OpenScript = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        local n = 0
        for i = 2, #ARGV do n = n + redis.call('SADD', KEYS[2], ARGV[i]) end
        redis.call('HSET', KEYS[1], 'expected', n, 'answered', 0, 'closed', 0, 'ttl', ARGV[1])
        redis.call('PEXPIRE', KEYS[1], ARGV[1])
        if n > 0 then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
        return 1
        """;

    // KEYS: meta, expected, answers, entries, foreign. ARGV: worker, entry, answer mark, entry for an unselected sender ('' = none).
    private const string RecordScript = """
        local m = redis.call('HMGET', KEYS[1], 'expected', 'answered', 'closed', 'completedBy', 'ttl')
        if not m[1] then return {'unknown', 0, 0, 0, ''} end
        local expected, answered, closed, ttl = tonumber(m[1]), tonumber(m[2]), m[3] == '1', m[5]
        local worker = ARGV[1]
        if redis.call('SISMEMBER', KEYS[2], worker) == 0 then
          if ARGV[4] ~= '' and not closed and redis.call('SADD', KEYS[5], worker) == 1 then
            redis.call('RPUSH', KEYS[4], ARGV[4])
            redis.call('PEXPIRE', KEYS[4], ttl)
            redis.call('PEXPIRE', KEYS[5], ttl)
          end
          return {'not-selected', 0, answered, expected, ''}
        end
        local earlier = redis.call('HGET', KEYS[3], worker)
        if earlier then
          local again = 0
          if m[4] == worker then again = 1 end
          if earlier == 'c' then return {'duplicate', again, answered, expected, ''} end
          if again == 0 and closed then return {'late', 0, answered, expected, ''} end
          return {'given-up', again, answered, expected, string.sub(earlier, 2)}
        end
        if closed then return {'late', 0, answered, expected, ''} end
        redis.call('HSET', KEYS[3], worker, ARGV[3])
        redis.call('RPUSH', KEYS[4], ARGV[2])
        redis.call('PEXPIRE', KEYS[3], ttl)
        redis.call('PEXPIRE', KEYS[4], ttl)
        answered = redis.call('HINCRBY', KEYS[1], 'answered', 1)
        if answered >= expected then
          redis.call('HSET', KEYS[1], 'closed', 1, 'completedBy', worker)
          return {'recorded', 1, answered, expected, ''}
        end
        return {'recorded', 0, answered, expected, ''}
        """;

    // KEYS: meta, expected, answers, entries. ARGV: reason, close ('1': every missing worker, then close), workers...
    private const string GiveUpScript = """
        local m = redis.call('HMGET', KEYS[1], 'expected', 'closed', 'ttl')
        if not m[1] or m[2] == '1' then return {0} end
        local workers = {}
        if ARGV[2] == '1' then
          workers = redis.call('SMEMBERS', KEYS[2])
        else
          for i = 3, #ARGV do workers[#workers + 1] = ARGV[i] end
        end
        local result = {0}
        for _, w in ipairs(workers) do
          if redis.call('SISMEMBER', KEYS[2], w) == 1 and redis.call('HSETNX', KEYS[3], w, 'r' .. ARGV[1]) == 1 then
            redis.call('RPUSH', KEYS[4], 'r' .. w .. '\n' .. ARGV[1])
            result[#result + 1] = w
          end
        end
        local answered = tonumber(redis.call('HINCRBY', KEYS[1], 'answered', #result - 1))
        if #result > 1 then
          redis.call('PEXPIRE', KEYS[3], m[3])
          redis.call('PEXPIRE', KEYS[4], m[3])
        end
        if ARGV[2] == '1' or answered >= tonumber(m[1]) then
          redis.call('HSET', KEYS[1], 'closed', 1, 'completedBy', '')
          result[1] = 1
        end
        return result
        """;

    private const string ReadScript = """
        local m = redis.call('HMGET', KEYS[1], 'expected', 'answered', 'closed')
        if not m[1] then return {} end
        local result = {m[1], m[2], m[3]}
        for _, e in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do result[#result + 1] = e end
        return result
        """;

    private readonly long _retentionMs = (long)(retention ?? TimeSpan.FromDays(2)).TotalMilliseconds;

    public async Task OpenAsync(Guid roundId, RoundPhase phase, IReadOnlyCollection<string> expected, CancellationToken cancellationToken = default)
    {
        var k = Keys(roundId, phase);
        await redis.GetDatabase().ScriptEvaluateAsync(OpenScript, [k.Meta, k.Expected],
            [_retentionMs, .. expected.Select(w => (RedisValue)w)]);
    }

    public Task<AnswerReceipt> RecordUpdateAsync(Guid roundId, UpdateRecord update, CancellationToken cancellationToken = default) =>
        RecordAsync(roundId, RoundPhase.Training, update.WorkerId, RoundLedgerEntries.Counted + RoundLedgerEntries.Update(update),
            RoundLedgerEntries.Counted.ToString(), RoundLedgerEntries.Rejection(update.WorkerId, RoundLedgerEntries.NotSelectedReason));

    public Task<AnswerReceipt> RecordDeclineAsync(Guid roundId, string workerId, string reason, CancellationToken cancellationToken = default) =>
        RecordAsync(roundId, RoundPhase.Training, workerId, RoundLedgerEntries.Rejection(workerId, reason),
            RoundLedgerEntries.Rejected + reason, "");

    public Task<AnswerReceipt> RecordEvaluationAsync(Guid roundId, EvaluationReport report, CancellationToken cancellationToken = default) =>
        RecordAsync(roundId, RoundPhase.Evaluation, report.WorkerId, RoundLedgerEntries.Counted + RoundLedgerEntries.Evaluation(report),
            RoundLedgerEntries.Counted.ToString(), "");

    public Task<GiveUpResult> GiveUpAsync(Guid roundId, RoundPhase phase, IReadOnlyCollection<string> workers, string reason,
        CancellationToken cancellationToken = default) =>
        GiveUpAsync(roundId, phase, reason, close: false, workers);

    public Task<GiveUpResult> CloseAsync(Guid roundId, RoundPhase phase, string reason, CancellationToken cancellationToken = default) =>
        GiveUpAsync(roundId, phase, reason, close: true, []);

    public async Task<RoundLedgerSnapshot?> ReadAsync(Guid roundId, RoundPhase phase, CancellationToken cancellationToken = default)
    {
        var k = Keys(roundId, phase);
        var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(ReadScript, [k.Meta, k.Entries]))!;
        if (result.Length == 0)
            return null;
        return RoundLedgerEntries.Snapshot(phase, closed: (string?)result[2] == "1", answered: (int)result[1], expected: (int)result[0],
            result.Skip(3).Select(e => (string)e!));
    }

    private async Task<AnswerReceipt> RecordAsync(Guid roundId, RoundPhase phase, string workerId, string entry, string mark, string foreignEntry)
    {
        var k = Keys(roundId, phase);
        var r = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(RecordScript,
            [k.Meta, k.Expected, k.Answers, k.Entries, k.Foreign], [workerId, entry, mark, foreignEntry]))!;
        var outcome = (string)r[0]! switch
        {
            "recorded" => AnswerOutcome.Recorded,
            "duplicate" => AnswerOutcome.Duplicate,
            "not-selected" => AnswerOutcome.NotSelected,
            "given-up" => AnswerOutcome.GivenUp,
            "late" => AnswerOutcome.Late,
            "unknown" => AnswerOutcome.UnknownRound,
            var other => throw new InvalidDataException($"round ledger script answered an unknown outcome '{other}'"),
        };
        var earlier = (string?)r[4];
        return new AnswerReceipt(outcome, (int)r[1] == 1, (int)r[2], (int)r[3], string.IsNullOrEmpty(earlier) ? null : earlier);
    }

    private async Task<GiveUpResult> GiveUpAsync(Guid roundId, RoundPhase phase, string reason, bool close, IEnumerable<string> workers)
    {
        var k = Keys(roundId, phase);
        var r = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(GiveUpScript, [k.Meta, k.Expected, k.Answers, k.Entries],
            [reason, close ? "1" : "0", .. workers.Select(w => (RedisValue)w)]))!;
        return new GiveUpResult(r.Skip(1).Select(w => (string)w!).ToList(), (int)r[0] == 1);
    }

    private LedgerKeys Keys(Guid roundId, RoundPhase phase)
    {
        // One hash tag per round and phase: a clustered Redis keeps a ledger's keys on one node, as scripts need.
        var root = $"{keyPrefix}round-ledger:{{{roundId:N}:{(phase == RoundPhase.Training ? "train" : "eval")}}}:";
        return new LedgerKeys(root + "meta", root + "expected", root + "answers", root + "entries", root + "foreign");
    }

    private sealed record LedgerKeys(RedisKey Meta, RedisKey Expected, RedisKey Answers, RedisKey Entries, RedisKey Foreign);
}
