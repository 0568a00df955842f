using IcosFl.Controller.Messages;
using IcosFl.Controller.Sagas;

namespace IcosFl.Controller.Rounds;

/// <summary>
/// The round ledger of the embedded controller (one process, in-memory sagas): the same rules as
/// <see cref="RedisRoundLedger"/>'s scripts, one lock per ledger. Ledgers older than the retention are
/// dropped when another one opens.
/// </summary>
public sealed class InMemoryRoundLedger(TimeProvider clock, TimeSpan? retention = null) : IRoundLedger
{
    private readonly Dictionary<(Guid, RoundPhase), Ledger> _ledgers = [];
    private readonly TimeSpan _retention = retention ?? TimeSpan.FromDays(2);

    public InMemoryRoundLedger() : this(TimeProvider.System)
    {
    }

    public Task OpenAsync(Guid roundId, RoundPhase phase, IReadOnlyCollection<string> expected, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        lock (_ledgers)
        {
            foreach (var stale in _ledgers.Where(l => now - l.Value.OpenedAt > _retention).Select(l => l.Key).ToList())
                _ledgers.Remove(stale);
            _ledgers.TryAdd((roundId, phase), new Ledger(expected, now));
        }
        return Task.CompletedTask;
    }

    public Task<AnswerReceipt> RecordUpdateAsync(Guid roundId, UpdateRecord update, CancellationToken cancellationToken = default) =>
        Task.FromResult(Record(roundId, RoundPhase.Training, update.WorkerId,
            RoundLedgerEntries.Counted + RoundLedgerEntries.Update(update), null, recordForeign: true));

    public Task<AnswerReceipt> RecordDeclineAsync(Guid roundId, string workerId, string reason, CancellationToken cancellationToken = default) =>
        Task.FromResult(Record(roundId, RoundPhase.Training, workerId, RoundLedgerEntries.Rejection(workerId, reason), reason,
            recordForeign: false));

    public Task<AnswerReceipt> RecordEvaluationAsync(Guid roundId, EvaluationReport report, CancellationToken cancellationToken = default) =>
        Task.FromResult(Record(roundId, RoundPhase.Evaluation, report.WorkerId,
            RoundLedgerEntries.Counted + RoundLedgerEntries.Evaluation(report), null, recordForeign: false));

    public Task<GiveUpResult> GiveUpAsync(Guid roundId, RoundPhase phase, IReadOnlyCollection<string> workers, string reason,
        CancellationToken cancellationToken = default) =>
        Task.FromResult(GiveUp(roundId, phase, workers, reason, close: false));

    public Task<GiveUpResult> CloseAsync(Guid roundId, RoundPhase phase, string reason, CancellationToken cancellationToken = default) =>
        Task.FromResult(GiveUp(roundId, phase, null, reason, close: true));

    public Task<RoundLedgerSnapshot?> ReadAsync(Guid roundId, RoundPhase phase, CancellationToken cancellationToken = default)
    {
        var ledger = Find(roundId, phase);
        if (ledger is null)
            return Task.FromResult<RoundLedgerSnapshot?>(null);
        lock (ledger)
            return Task.FromResult<RoundLedgerSnapshot?>(RoundLedgerEntries.Snapshot(phase, ledger.Closed, ledger.Answers.Count,
                ledger.Expected.Count, ledger.Entries));
    }

    private AnswerReceipt Record(Guid roundId, RoundPhase phase, string workerId, string entry, string? declinedReason, bool recordForeign)
    {
        var ledger = Find(roundId, phase);
        if (ledger is null)
            return new AnswerReceipt(AnswerOutcome.UnknownRound, false, 0, 0);
        lock (ledger)
        {
            var answered = ledger.Answers.Count;
            var expected = ledger.Expected.Count;
            if (!ledger.Expected.Contains(workerId))
            {
                if (recordForeign && !ledger.Closed && ledger.Foreign.Add(workerId))
                    ledger.Entries.Add(RoundLedgerEntries.Rejection(workerId, RoundLedgerEntries.NotSelectedReason));
                return new AnswerReceipt(AnswerOutcome.NotSelected, false, answered, expected);
            }
            if (ledger.Answers.TryGetValue(workerId, out var earlierReason))
            {
                var again = ledger.CompletedBy == workerId;
                if (earlierReason is null)
                    return new AnswerReceipt(AnswerOutcome.Duplicate, again, answered, expected);
                return !again && ledger.Closed
                    ? new AnswerReceipt(AnswerOutcome.Late, false, answered, expected)
                    : new AnswerReceipt(AnswerOutcome.GivenUp, again, answered, expected, earlierReason);
            }
            if (ledger.Closed)
                return new AnswerReceipt(AnswerOutcome.Late, false, answered, expected);
            ledger.Answers[workerId] = declinedReason;
            ledger.Entries.Add(entry);
            answered++;
            var completes = answered >= expected;
            if (completes)
            {
                ledger.Closed = true;
                ledger.CompletedBy = workerId;
            }
            return new AnswerReceipt(AnswerOutcome.Recorded, completes, answered, expected);
        }
    }

    private GiveUpResult GiveUp(Guid roundId, RoundPhase phase, IReadOnlyCollection<string>? workers, string reason, bool close)
    {
        var ledger = Find(roundId, phase);
        if (ledger is null)
            return new GiveUpResult([], false);
        lock (ledger)
        {
            if (ledger.Closed)
                return new GiveUpResult([], false);
            var givenUp = new List<string>();
            foreach (var worker in workers ?? ledger.Expected)
            {
                if (!ledger.Expected.Contains(worker) || !ledger.Answers.TryAdd(worker, reason))
                    continue;
                ledger.Entries.Add(RoundLedgerEntries.Rejection(worker, reason));
                givenUp.Add(worker);
            }
            if (close || ledger.Answers.Count >= ledger.Expected.Count)
            {
                ledger.Closed = true;
                ledger.CompletedBy = "";
            }
            return new GiveUpResult(givenUp, ledger.Closed);
        }
    }

    private Ledger? Find(Guid roundId, RoundPhase phase)
    {
        lock (_ledgers)
            return _ledgers.GetValueOrDefault((roundId, phase));
    }

    private sealed class Ledger(IEnumerable<string> expected, DateTimeOffset openedAt)
    {
        public HashSet<string> Expected { get; } = [.. expected];
        public DateTimeOffset OpenedAt { get; } = openedAt;
        /// <summary>Worker -> null if it sent its update or report, else why it was left out.</summary>
        public Dictionary<string, string?> Answers { get; } = [];
        public HashSet<string> Foreign { get; } = [];
        public List<string> Entries { get; } = [];
        public bool Closed { get; set; }
        public string? CompletedBy { get; set; }
    }
}
