using System.Globalization;
using IcosFl.Contracts;
using MassTransit;

namespace IcosFl.Cli.Simulation;

/// <summary>Follows one federation's events: one progress line per round, and the end.</summary>
public sealed class FederationObserver(Guid federationId, int totalRounds, TextWriter progress) :
    IConsumer<RoundCompleted>,
    IConsumer<RoundFailed>,
    IConsumer<FederationCompleted>,
    IConsumer<FederationFailed>,
    IConsumer<FederationStopped>
{
    private readonly List<RoundCompleted> _rounds = [];
    private readonly TaskCompletionSource<(string State, string? Reason)> _end =
        new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<(string State, string? Reason)> Ended => _end.Task;

    public IReadOnlyList<RoundCompleted> Rounds
    {
        get { lock (_rounds) return _rounds.OrderBy(r => r.Round).ToList(); }
    }

    public Task Consume(ConsumeContext<RoundCompleted> context)
    {
        var m = context.Message;
        if (m.FederationId != federationId)
            return Task.CompletedTask;
        lock (_rounds)
            _rounds.Add(m);
        var c = CultureInfo.InvariantCulture;
        var line = string.Create(c,
            $"round {m.Round}/{totalRounds}: {m.Participants.Count} participants, train loss {m.TrainLoss:G4}, " +
            $"eval loss {(m.EvalLoss is { } e ? e.ToString("G4", c) : "n/a")} (federated)");
        if (m.CentralizedEval is { } central)
            line += string.Create(c, $", centralized RMSE {central.Rmse:G4} (persistence {central.PersistenceRmse:G4})");
        if (m.Rejected.Count > 0)
            line += $", rejected: {string.Join("; ", m.Rejected.Select(r => $"{r.WorkerId}: {r.Reason}"))}";
        line += string.Create(c, $", {m.DurationMs:F0} ms");
        lock (progress)
            progress.WriteLine(line);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<RoundFailed> context)
    {
        var m = context.Message;
        if (m.FederationId == federationId)
            lock (progress)
                progress.WriteLine($"round {m.Round}/{totalRounds} attempt {m.Attempt} failed: {m.Reason}");
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<FederationCompleted> context)
    {
        if (context.Message.FederationId == federationId)
            _end.TrySetResult(("Completed", null));
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<FederationFailed> context)
    {
        if (context.Message.FederationId == federationId)
            _end.TrySetResult(("Failed", context.Message.Reason));
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<FederationStopped> context)
    {
        if (context.Message.FederationId == federationId)
            _end.TrySetResult(("Stopped", context.Message.Reason));
        return Task.CompletedTask;
    }
}
