using System.Text.Json;
using IcosFl.Contracts;
using IcosFl.Controller.Messages;
using IcosFl.Controller.Sagas;

namespace IcosFl.Controller.Rounds;

/// <summary>
/// How both ledgers write an answer: "c" + the JSON of the counted update or report, or
/// "r" + worker id + newline + reason for a worker left out (declined, given up on, not selected).
/// One format, so the in-memory and the Redis ledger cannot disagree about what a snapshot holds.
/// </summary>
internal static class RoundLedgerEntries
{
    public const char Counted = 'c';
    public const char Rejected = 'r';
    public const string NotSelectedReason = "not selected for this round";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static string Update(UpdateRecord update) => JsonSerializer.Serialize(update, Json);

    public static string Evaluation(EvaluationReport report) => JsonSerializer.Serialize(report, Json);

    public static string Rejection(string workerId, string reason) => Rejected + workerId + "\n" + reason;

    public static RoundLedgerSnapshot Snapshot(RoundPhase phase, bool closed, int answered, int expected, IEnumerable<string> entries)
    {
        var updates = new List<UpdateRecord>();
        var evaluations = new List<EvaluationReport>();
        var rejected = new List<RejectedUpdate>();
        foreach (var entry in entries)
        {
            if (entry.Length == 0)
                throw new InvalidDataException("round ledger holds an empty entry");
            var body = entry.AsSpan(1);
            switch (entry[0])
            {
                case Counted when phase == RoundPhase.Training:
                    updates.Add(JsonSerializer.Deserialize<UpdateRecord>(body, Json)
                        ?? throw new InvalidDataException("round ledger holds a null update"));
                    break;
                case Counted:
                    evaluations.Add(JsonSerializer.Deserialize<EvaluationReport>(body, Json)
                        ?? throw new InvalidDataException("round ledger holds a null evaluation report"));
                    break;
                case Rejected:
                    var newline = body.IndexOf('\n');
                    if (newline < 0)
                        throw new InvalidDataException($"round ledger holds a rejection without a reason: '{entry}'");
                    rejected.Add(new RejectedUpdate(body[..newline].ToString(), body[(newline + 1)..].ToString()));
                    break;
                default:
                    throw new InvalidDataException($"round ledger holds an entry of unknown kind '{entry[0]}'");
            }
        }
        return new RoundLedgerSnapshot(closed, answered, expected, updates, evaluations, rejected);
    }
}
