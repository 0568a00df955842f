using IcosFl.Contracts;
using IcosFl.Controller.Messages;
using IcosFl.Controller.Rounds;
using IcosFl.Controller.Sagas;
using IcosFl.Integration.Tests.Servers;
using StackExchange.Redis;

namespace IcosFl.Integration.Tests.Rounds;

/// <summary>
/// What every round ledger must do, run against the Redis one (the real Redis of tests/run.sh) and the
/// in-memory one alike: answers racing each other and the deadline are counted once, and exactly one
/// answer completes the set.
/// </summary>
public abstract class RoundLedgerContract
{
    protected abstract IRoundLedger Ledger { get; }

    private static List<string> Workers(int n) => Enumerable.Range(1, n).Select(i => $"worker-{i:00}").ToList();

    private static UpdateRecord Update(string worker, int examples = 10) => new(worker, examples, new TrainMetrics(0.5, 1, 1),
        new WeightsPayload { ClaimCheckKey = $"weights:{worker}:{examples}", Length = 8, Checksum = "0123456789abcdef" });

    [Fact]
    public async Task Should_count_fifty_concurrent_updates_and_a_duplicate_once_and_complete_once()
    {
        var round = Guid.NewGuid();
        var workers = Workers(50);
        await Ledger.OpenAsync(round, RoundPhase.Training, workers);

        // Every worker's update and a second, different one from worker-07, all at the same moment.
        var sent = workers.Select(w => Update(w)).Append(Update("worker-07", examples: 999)).ToList();
        var receipts = await Task.WhenAll(sent.Select(u => Task.Run(() => Ledger.RecordUpdateAsync(round, u))));

        Assert.Equal(50, receipts.Count(r => r.Outcome == AnswerOutcome.Recorded));
        Assert.Equal(AnswerOutcome.Duplicate, Assert.Single(receipts, r => r.Outcome != AnswerOutcome.Recorded).Outcome);
        var completer = Assert.Single(receipts.Select((r, i) => (r, i)), x => x.r.CompletesTheSet);
        Assert.Equal(50, completer.r.Answered);
        Assert.Equal(50, completer.r.Expected);

        var snapshot = (await Ledger.ReadAsync(round, RoundPhase.Training))!;
        Assert.True(snapshot.Closed);
        Assert.Equal((50, 50), (snapshot.Answered, snapshot.Expected));
        Assert.Equal(workers, snapshot.Updates.Select(u => u.WorkerId).Order());
        // Of worker-07's two updates, the one whose receipt says Recorded is the one the ledger holds.
        var counted07 = sent.Zip(receipts).Single(x => x.First.WorkerId == "worker-07" && x.Second.Outcome == AnswerOutcome.Recorded).First;
        Assert.Equal(counted07.NumExamples, snapshot.Updates.Single(u => u.WorkerId == "worker-07").NumExamples);
        Assert.Equal(49 * 10 + counted07.NumExamples, snapshot.Updates.Sum(u => u.NumExamples));
        Assert.Empty(snapshot.Rejected);

        // After completion: another update from a counted worker is a duplicate that completes nothing;
        // the completing message delivered again reports completion again (a lost RoundCollected is recovered).
        var other = workers.First(w => w != sent[completer.i].WorkerId);
        Assert.Equal(new AnswerReceipt(AnswerOutcome.Duplicate, false, 50, 50), await Ledger.RecordUpdateAsync(round, Update(other)));
        var again = await Ledger.RecordUpdateAsync(round, sent[completer.i]);
        Assert.True(again.CompletesTheSet);
        Assert.Equal(50, (await Ledger.ReadAsync(round, RoundPhase.Training))!.Updates.Count);
    }

    [Fact]
    public async Task Should_count_an_update_racing_the_deadline_either_in_or_late_never_both()
    {
        var round = Guid.NewGuid();
        var workers = Workers(50);
        await Ledger.OpenAsync(round, RoundPhase.Training, workers);

        var answers = workers.Take(30).Select(w => Task.Run(() => Ledger.RecordUpdateAsync(round, Update(w)))).ToList();
        var closing = Task.Run(() => Ledger.CloseAsync(round, RoundPhase.Training, "no update by the round deadline"));
        var receipts = await Task.WhenAll(answers);
        var closed = await closing;

        Assert.True(closed.ClosedTheLedger);
        Assert.All(receipts, r => Assert.Contains(r.Outcome, new[] { AnswerOutcome.Recorded, AnswerOutcome.Late }));
        Assert.DoesNotContain(receipts, r => r.CompletesTheSet);
        var counted = receipts.Count(r => r.Outcome == AnswerOutcome.Recorded);
        var snapshot = (await Ledger.ReadAsync(round, RoundPhase.Training))!;
        Assert.Equal(counted, snapshot.Updates.Count);
        Assert.Equal(50 - counted, closed.GivenUp.Count);
        Assert.Equal(closed.GivenUp.Order(), snapshot.Rejected.Select(r => r.WorkerId).Order());
        Assert.All(snapshot.Rejected, r => Assert.Equal("no update by the round deadline", r.Reason));
        Assert.Equal((true, 50), (snapshot.Closed, snapshot.Answered));

        // A worker given up at the deadline answers after it: late, once; a second close changes nothing.
        Assert.Equal(AnswerOutcome.Late, (await Ledger.RecordUpdateAsync(round, Update("worker-50"))).Outcome);
        var second = await Ledger.CloseAsync(round, RoundPhase.Training, "again");
        Assert.Equal((0, false), (second.GivenUp.Count, second.ClosedTheLedger));
        Assert.Equal(snapshot.Rejected.Count, (await Ledger.ReadAsync(round, RoundPhase.Training))!.Rejected.Count);
    }

    [Fact]
    public async Task Should_note_declines_foreign_senders_and_offline_workers_with_their_reasons()
    {
        var round = Guid.NewGuid();
        await Ledger.OpenAsync(round, RoundPhase.Training, ["a", "b", "c", "d"]);
        await Ledger.OpenAsync(round, RoundPhase.Training, ["x"]); // opening again changes nothing

        Assert.Equal(new AnswerReceipt(AnswerOutcome.NotSelected, false, 0, 4), await Ledger.RecordUpdateAsync(round, Update("intruder")));
        Assert.Equal(AnswerOutcome.NotSelected, (await Ledger.RecordUpdateAsync(round, Update("intruder", 5))).Outcome);
        Assert.Equal(new AnswerReceipt(AnswerOutcome.Recorded, false, 1, 4), await Ledger.RecordDeclineAsync(round, "a", "declined: too little data"));
        Assert.Equal(new AnswerReceipt(AnswerOutcome.GivenUp, false, 1, 4, "declined: too little data"),
            await Ledger.RecordUpdateAsync(round, Update("a")));
        Assert.Equal(new AnswerReceipt(AnswerOutcome.Recorded, false, 2, 4), await Ledger.RecordUpdateAsync(round, Update("b")));

        // The liveness check gives up on c (offline) and on b, who has answered: only c is given up on, and b and d remain.
        var offline = await Ledger.GiveUpAsync(round, RoundPhase.Training, ["c", "b", "stranger"], "went offline");
        Assert.Equal(["c"], offline.GivenUp);
        Assert.False(offline.ClosedTheLedger);
        Assert.Equal(new AnswerReceipt(AnswerOutcome.GivenUp, false, 3, 4, "went offline"), await Ledger.RecordUpdateAsync(round, Update("c")));

        // d goes offline too: that completes the set, so the give-up closes the ledger, and no answer reports completion.
        var last = await Ledger.GiveUpAsync(round, RoundPhase.Training, ["d"], "went offline");
        Assert.Equal(["d"], last.GivenUp);
        Assert.True(last.ClosedTheLedger);
        Assert.Equal(new AnswerReceipt(AnswerOutcome.Late, false, 4, 4), await Ledger.RecordUpdateAsync(round, Update("d")));

        var snapshot = (await Ledger.ReadAsync(round, RoundPhase.Training))!;
        Assert.Equal(["b"], snapshot.Updates.Select(u => u.WorkerId));
        Assert.Equal(
            [new RejectedUpdate("intruder", "not selected for this round"), new RejectedUpdate("a", "declined: too little data"),
                new RejectedUpdate("c", "went offline"), new RejectedUpdate("d", "went offline")],
            snapshot.Rejected);
    }

    [Fact]
    public async Task Should_keep_the_evaluation_ledger_apart_and_know_no_unopened_round()
    {
        var round = Guid.NewGuid();
        Assert.Equal(AnswerOutcome.UnknownRound, (await Ledger.RecordUpdateAsync(round, Update("a"))).Outcome);
        Assert.Null(await Ledger.ReadAsync(round, RoundPhase.Training));
        var nothing = await Ledger.CloseAsync(round, RoundPhase.Training, "deadline");
        Assert.Equal((0, false), (nothing.GivenUp.Count, nothing.ClosedTheLedger));

        await Ledger.OpenAsync(round, RoundPhase.Training, ["a", "b"]);
        await Ledger.RecordUpdateAsync(round, Update("a"));
        Assert.Equal(AnswerOutcome.UnknownRound,
            (await Ledger.RecordEvaluationAsync(round, new EvaluationReport("a", null, "no data"))).Outcome);

        await Ledger.OpenAsync(round, RoundPhase.Evaluation, ["a", "b"]);
        var metrics = new EvaluationMetrics(20, 0.1, 0.316, 0.2, 0.2, 0.447, 0.3);
        Assert.Equal(new AnswerReceipt(AnswerOutcome.Recorded, false, 1, 2), await Ledger.RecordEvaluationAsync(round, new EvaluationReport("b", metrics, null)));
        Assert.Equal(AnswerOutcome.NotSelected, (await Ledger.RecordEvaluationAsync(round, new EvaluationReport("z", metrics, null))).Outcome);
        Assert.Equal(new AnswerReceipt(AnswerOutcome.Recorded, true, 2, 2),
            await Ledger.RecordEvaluationAsync(round, new EvaluationReport("a", null, "no data")));

        var evaluation = (await Ledger.ReadAsync(round, RoundPhase.Evaluation))!;
        Assert.Equal([new EvaluationReport("b", metrics, null), new EvaluationReport("a", null, "no data")], evaluation.Evaluations);
        Assert.Empty(evaluation.Rejected);
        var training = (await Ledger.ReadAsync(round, RoundPhase.Training))!;
        Assert.Equal((false, 1, 2), (training.Closed, training.Answered, training.Expected));
    }
}

[Collection(ServersCollection.Name)]
public sealed class Keeping_a_round_ledger_in_redis(TestServers servers) : RoundLedgerContract, IAsyncLifetime
{
    private ConnectionMultiplexer _redis = null!;
    private RedisRoundLedger _ledger = null!;

    protected override IRoundLedger Ledger => _ledger;

    public async Task InitializeAsync()
    {
        _redis = await ConnectionMultiplexer.ConnectAsync(servers.RedisConfiguration);
        _ledger = new RedisRoundLedger(_redis, $"icosfl-test:{Guid.NewGuid():N}:", TimeSpan.FromMinutes(10));
    }

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task Should_let_every_key_of_a_ledger_expire()
    {
        var prefix = $"icosfl-test:{Guid.NewGuid():N}:";
        var ledger = new RedisRoundLedger(_redis, prefix, TimeSpan.FromMinutes(3));
        var round = Guid.NewGuid();
        await ledger.OpenAsync(round, RoundPhase.Training, ["a", "b"]);
        await ledger.RecordUpdateAsync(round, new UpdateRecord("a", 1, new TrainMetrics(1, 1, 1),
            new WeightsPayload { ClaimCheckKey = "k", Length = 1, Checksum = "0123456789abcdef" }));
        await ledger.RecordUpdateAsync(round, new UpdateRecord("intruder", 1, new TrainMetrics(1, 1, 1),
            new WeightsPayload { ClaimCheckKey = "k", Length = 1, Checksum = "0123456789abcdef" }));

        var server = _redis.GetServer(_redis.GetEndPoints()[0]);
        var keys = server.Keys(pattern: prefix + "*").ToList();
        Assert.Equal(5, keys.Count);
        foreach (var key in keys)
            Assert.InRange((await _redis.GetDatabase().KeyTimeToLiveAsync(key))!.Value, TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(3));
    }
}

public sealed class Keeping_a_round_ledger_in_memory : RoundLedgerContract
{
    protected override IRoundLedger Ledger { get; } = new InMemoryRoundLedger();
}
