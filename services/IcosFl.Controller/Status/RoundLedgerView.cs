using IcosFl.Controller.Rounds;
using IcosFl.Controller.Sagas;

namespace IcosFl.Controller.Status;

/// <summary>
/// A collecting round's saga does not hold its answers (they are counted in the round's ledger and
/// copied onto the saga when collecting ends): readers fill them in from the ledger.
/// </summary>
public static class RoundLedgerView
{
    public static async Task<RoundState?> WithAnswersAsync(RoundState? round, IRoundLedger ledger)
    {
        if (round is not { CurrentState: "Collecting" })
            return round;
        if (await ledger.ReadAsync(round.CorrelationId, RoundPhase.Training) is { } snapshot)
            snapshot.CopyTrainingTo(round);
        return round;
    }
}
