using IcosFl.Contracts;
using IcosFl.Controller.Messages;
using IcosFl.Controller.Sagas;

namespace IcosFl.Controller.Rounds;

/// <summary>The two collections of a round: updates from its trainers, then reports from its evaluators.</summary>
public enum RoundPhase
{
    Training,
    Evaluation,
}

/// <summary>What recording one answer in a round's ledger did.</summary>
public enum AnswerOutcome
{
    /// <summary>Recorded: an update or report counted, or a decline noted.</summary>
    Recorded,
    /// <summary>The worker's update or report was already counted; the earlier one stands.</summary>
    Duplicate,
    /// <summary>The worker is not one the round asked.</summary>
    NotSelected,
    /// <summary>The round had already given up on the worker (declined, offline); <see cref="AnswerReceipt.EarlierReason"/> says why.</summary>
    GivenUp,
    /// <summary>The ledger was closed (the round moved on) before this worker's first update or report arrived.</summary>
    Late,
    /// <summary>No ledger for this round and phase: never opened here, or long expired.</summary>
    UnknownRound,
}

/// <param name="CompletesTheSet">This answer (or its redelivery) made every expected worker answered: exactly one answer of a phase reports it.</param>
public sealed record AnswerReceipt(AnswerOutcome Outcome, bool CompletesTheSet, int Answered, int Expected, string? EarlierReason = null);

/// <param name="GivenUp">The workers this call gave up on (they had not answered yet).</param>
/// <param name="ClosedTheLedger">This call closed the ledger (it completed the set, or it was the deadline); false if it was closed already.</param>
public sealed record GiveUpResult(IReadOnlyList<string> GivenUp, bool ClosedTheLedger);

/// <summary>A ledger's content, in the order the answers arrived.</summary>
public sealed record RoundLedgerSnapshot(
    bool Closed,
    int Answered,
    int Expected,
    IReadOnlyList<UpdateRecord> Updates,
    IReadOnlyList<EvaluationReport> Evaluations,
    IReadOnlyList<RejectedUpdate> Rejected)
{
    /// <summary>Shows a collecting round's answers on its saga state (the saga itself only copies them when collection ends).</summary>
    public void CopyTrainingTo(RoundState round)
    {
        round.Updates = [.. Updates];
        round.Rejected = [.. Rejected];
    }
}

/// <summary>
/// Who answered a round. The ledger exists for scale (docs/scaling.md): a round of 1,000 workers takes 1,000
/// answers at once, and here each is one small atomic write by a concurrent consumer, where in the round saga each
/// would be a load and a save of one ever larger document, one answer at a time under the saga's lock.
/// The round saga copies a phase's ledger when the phase ends; until then the one reader of a round's answers
/// so far is <see cref="Status.FederationStatusReader"/>. Each phase of a round has its own
/// ledger: the workers expected (written when the phase opens), one answer per worker, a closed flag.
/// Every operation is atomic: an answer is counted once, exactly one answer reports that it completed
/// the set (a redelivery of that answer reports it again, so a lost notification is recovered), and
/// after closing (completion, deadline) nothing more is counted.
/// </summary>
public interface IRoundLedger
{
    /// <summary>Opens a phase's ledger with the workers it waits for; a second call for the same round and phase changes nothing.</summary>
    Task OpenAsync(Guid roundId, RoundPhase phase, IReadOnlyCollection<string> expected, CancellationToken cancellationToken = default);

    /// <summary>A training update (its weights already put aside). An update from a worker that was not selected is noted as rejected.</summary>
    Task<AnswerReceipt> RecordUpdateAsync(Guid roundId, UpdateRecord update, CancellationToken cancellationToken = default);

    /// <summary>A worker declined to train: it has answered, without an update.</summary>
    Task<AnswerReceipt> RecordDeclineAsync(Guid roundId, string workerId, string reason, CancellationToken cancellationToken = default);

    /// <summary>An evaluation report (a declined evaluation counts as an answer too).</summary>
    Task<AnswerReceipt> RecordEvaluationAsync(Guid roundId, EvaluationReport report, CancellationToken cancellationToken = default);

    /// <summary>Stops waiting for those of <paramref name="workers"/> that have not answered; closes the ledger if that completes the set.</summary>
    Task<GiveUpResult> GiveUpAsync(Guid roundId, RoundPhase phase, IReadOnlyCollection<string> workers, string reason,
        CancellationToken cancellationToken = default);

    /// <summary>The deadline: gives up on every worker that has not answered and closes the ledger.</summary>
    Task<GiveUpResult> CloseAsync(Guid roundId, RoundPhase phase, string reason, CancellationToken cancellationToken = default);

    /// <summary>The ledger's content, or null if there is none.</summary>
    Task<RoundLedgerSnapshot?> ReadAsync(Guid roundId, RoundPhase phase, CancellationToken cancellationToken = default);
}
