using IcosFl.Controller.Rounds;
using IcosFl.Controller.Sagas;
using IcosFl.Controller.Workers;

namespace IcosFl.Controller.Status;

/// <summary>Where the federation and round sagas can be read from (Redis when deployed).</summary>
public interface ISagaReader
{
    Task<FederationState?> FederationAsync(Guid federationId);
    Task<IReadOnlyList<FederationState>> FederationsAsync();
    Task<RoundState?> RoundAsync(Guid roundId);
}

/// <summary>
/// Builds what operators see of a federation from its saga, its round in progress (with the answers its
/// ledger holds so far) and the worker registry. The one reader that stitches a round's saga and its ledger
/// back together: <see cref="ISagaReader"/> gives the saga as it is stored.
/// </summary>
public sealed class FederationStatusReader(
    ISagaReader sagas, IWorkerRegistry registry, ControllerOptions options, TimeProvider clock, IRoundLedger ledger)
{
    public async Task<FederationStatus?> GetAsync(Guid federationId)
    {
        var saga = await sagas.FederationAsync(federationId);
        if (saga is null)
            return null;
        var workers = await WorkersAsync();
        RoundState? current = saga.CurrentRoundId is { } id ? await WithAnswersSoFarAsync(await sagas.RoundAsync(id)) : null;
        return Build(saga, current, workers);
    }

    /// <summary>
    /// A collecting round's saga does not hold its answers yet (they are counted in the round's ledger and copied onto
    /// the saga when collecting ends): they are filled in from the ledger. Other states hold their answers already.
    /// </summary>
    private async Task<RoundState?> WithAnswersSoFarAsync(RoundState? round)
    {
        if (round is { CurrentState: "Collecting" } && await ledger.ReadAsync(round.CorrelationId, RoundPhase.Training) is { } snapshot)
            snapshot.CopyTrainingTo(round);
        return round;
    }

    /// <summary>
    /// The timeline of round <paramref name="round"/> (its latest attempt) of a federation, or null when the federation
    /// or the round is unknown.
    /// </summary>
    public async Task<RoundTimeline?> TimelineAsync(Guid federationId, int round)
    {
        if (await sagas.FederationAsync(federationId) is not { } saga)
            return null;
        Guid? roundId = saga.CurrentRoundId is { } current && saga.Round == round
            ? current
            : saga.Rounds.LastOrDefault(r => r.Round == round)?.RoundId;
        if (roundId is not { } id || await WithAnswersSoFarAsync(await sagas.RoundAsync(id)) is not { } state)
            return null;
        return Timeline(state);
    }

    public static RoundTimeline Timeline(RoundState round)
    {
        var updates = round.Updates.ToDictionary(u => u.WorkerId);
        var rejected = round.Rejected.GroupBy(r => r.WorkerId).ToDictionary(g => g.Key, g => g.Last().Reason);
        var collecting = round.CurrentState == "Collecting";
        var workers = round.Selected.Select(w =>
        {
            updates.TryGetValue(w, out var update);
            rejected.TryGetValue(w, out var reason);
            var outcome = (update, reason) switch
            {
                (not null, null) => "counted",
                (not null, not null) => "rejected",
                (null, not null) when reason.StartsWith("declined", StringComparison.Ordinal) => "declined",
                (null, not null) => "left out",
                _ => collecting ? "waiting" : "no answer",
            };
            double? arrived = update?.ArrivedAt is { } at ? (at - round.OpenedAt).TotalMilliseconds : null;
            return new WorkerTimeline(w, outcome, arrived, update?.Metrics.DurationMs, reason);
        }).ToList();
        return new RoundTimeline(round.Round, round.Attempt, round.CorrelationId, round.CurrentState, round.OpenedAt, workers);
    }

    public async Task<IReadOnlyList<FederationStatus>> ListAsync()
    {
        var all = await sagas.FederationsAsync();
        var workers = await WorkersAsync();
        return all.OrderBy(f => f.CreatedAt).Select(f => Build(f, null, workers)).ToList();
    }

    public async Task<IReadOnlyList<WorkerStatus>> WorkersAsync()
    {
        var now = clock.GetUtcNow();
        return (await registry.ListAsync())
            .Select(w => new WorkerStatus(w.WorkerId, w.Host, w.IsAlive(now, options.HeartbeatPatience), w.LastHeartbeat, w.DataPoints))
            .ToList();
    }

    public static FederationStatus Build(FederationState saga, RoundState? current, IReadOnlyList<WorkerStatus> workers)
    {
        var rounds = saga.Rounds
            .Select(r => new RoundStatus(r.Round, r.Attempt, r.RoundId, r.State, r.Participants, r.TrainLoss, r.EvalLoss,
                r.CentralizedEval?.Rmse, r.DurationMs, r.Reason, r.Rejected))
            .ToList();
        if (current is not null)
            rounds.Add(new RoundStatus(current.Round, current.Attempt, current.CorrelationId, current.CurrentState,
                current.Updates.Select(u => u.WorkerId).ToList(), null, null, null, null, null, current.Rejected));
        var state = saga.CurrentState switch
        {
            "Completed" or "Failed" or "Stopped" => saga.CurrentState,
            _ => "Running",
        };
        var completed = saga.Rounds.Count(r => r.State == "Completed");
        return new FederationStatus(saga.CorrelationId, state, saga.CurrentState,
            state == "Running" ? saga.Round : completed, saga.RunConfig.NumServerRounds, saga.RunConfig.Metric,
            saga.RunConfig.Strategy, rounds, workers, saga.Reason, saga.CreatedAt, saga.UpdatedAt,
            state == "Running" && current is null ? saga.Waiting : null);
    }
}
