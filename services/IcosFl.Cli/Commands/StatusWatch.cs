using System.Globalization;
using IcosFl.Controller.Status;
using Spectre.Console;

namespace IcosFl.Cli.Commands;

/// <summary>
/// <c>icosfl status ID --watch</c>: live progress bars (federation rounds, the round in progress, the loss so
/// far) on a terminal; one plain line per change when stdout is a file or a pipe.
/// </summary>
public static class StatusWatch
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    public static async Task<int> RunAsync(Func<Task<FederationStatus?>> read, Guid federationId, string source, CancellationToken ct)
    {
        var status = await read();
        if (status is null)
        {
            Console.Error.WriteLine($"icosfl status: no federation {federationId} in Redis at {source}");
            return ExitCodes.BadUsage;
        }
        try
        {
            status = Console.IsOutputRedirected
                ? await PlainAsync(read, status, Console.Out, ct)
                : await BarsAsync(read, status, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return ExitCodes.Success;
        }
        return status.State is "Running" or "Completed" ? ExitCodes.Success : ExitCodes.FederationFailed;
    }

    private static async Task<FederationStatus> PlainAsync(Func<Task<FederationStatus?>> read, FederationStatus status, TextWriter output, CancellationToken ct)
    {
        foreach (var line in Changes(null, status))
            output.WriteLine(line);
        while (status.State == "Running")
        {
            await Task.Delay(Interval, ct);
            var next = await read() ?? status;
            foreach (var line in Changes(status, next))
                output.WriteLine(line);
            status = next;
        }
        return status;
    }

    private static async Task<FederationStatus> BarsAsync(Func<Task<FederationStatus?>> read, FederationStatus status, CancellationToken ct)
    {
        await AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 30 }, new PercentageColumn())
            .StartAsync(async ctx =>
            {
                var federation = ctx.AddTask(Markup.Escape(FederationLine(status)), maxValue: status.NumServerRounds);
                var round = ctx.AddTask("round", maxValue: 1);
                while (true)
                {
                    federation.Description = Markup.Escape(FederationLine(status));
                    federation.Value = Completed(status);
                    var current = status.Rounds.LastOrDefault(r => r.State is not ("Completed" or "Failed"));
                    var alive = Math.Max(1, status.Workers.Count(w => w.Alive));
                    round.MaxValue = alive;
                    round.Value = current?.Participants.Count ?? (status.State == "Running" ? 0 : alive);
                    round.Description = Markup.Escape(current is null
                        ? status.State == "Running" ? $"round {status.Round}: {status.Phase}" : status.State.ToLowerInvariant()
                        : $"round {current.Round} {current.State.ToLowerInvariant()}: {current.Participants.Count}/{alive} updates");
                    if (status.State != "Running")
                    {
                        federation.StopTask();
                        round.StopTask();
                        return;
                    }
                    await Task.Delay(Interval, ct);
                    status = await read() ?? status;
                }
            });
        if (status.Reason is not null)
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(status.Reason)}[/]");
        return status;
    }

    private static int Completed(FederationStatus s) => s.Rounds.Count(r => r.State == "Completed");

    private static string FederationLine(FederationStatus s)
    {
        var last = s.Rounds.LastOrDefault(r => r.State == "Completed");
        var c = CultureInfo.InvariantCulture;
        return $"{s.FederationId.ToString()[..8]} {s.State.ToLowerInvariant()} {Completed(s)}/{s.NumServerRounds}" +
               (last?.TrainLoss is { } t ? ", loss " + t.ToString("G4", c) : "") +
               (last?.EvalLoss is { } e ? " (eval " + e.ToString("G4", c) + ")" : "");
    }

    /// <summary>What changed between two readings, one line each (the first reading when <paramref name="before"/> is null).</summary>
    public static IReadOnlyList<string> Changes(FederationStatus? before, FederationStatus after)
    {
        var c = CultureInfo.InvariantCulture;
        var lines = new List<string>();
        if (before is null)
            lines.Add($"federation {after.FederationId}: {after.State} ({after.Phase}), {after.NumServerRounds} rounds of {after.Strategy} on {after.Metric}");
        else if (before.Phase != after.Phase && after.State == "Running")
            lines.Add($"federation {after.Phase}");

        foreach (var r in after.Rounds.Where(r => r.State is "Completed" or "Failed"))
        {
            if (before?.Rounds.Any(b => b.RoundId == r.RoundId && b.State == r.State) == true)
                continue;
            lines.Add(r.State == "Completed"
                ? string.Create(c, $"round {r.Round}/{after.NumServerRounds} completed: {r.Participants.Count} participants") +
                  (r.TrainLoss is { } t ? ", train loss " + t.ToString("G4", c) : "") +
                  (r.EvalLoss is { } e ? ", eval loss " + e.ToString("G4", c) : "") +
                  (r.Rejected.Count > 0 ? ", rejected: " + string.Join("; ", r.Rejected.Select(x => $"{x.WorkerId}: {x.Reason}")) : "") +
                  (r.DurationMs is { } d ? string.Create(c, $", {d:F0} ms") : "")
                : $"round {r.Round}/{after.NumServerRounds} attempt {r.Attempt} failed: {r.Reason}");
        }

        foreach (var w in after.Workers)
        {
            var was = before?.Workers.FirstOrDefault(b => b.Id == w.Id);
            if (was is null && before is not null)
                lines.Add($"worker {w.Id} joined ({(w.Alive ? "alive" : "offline")})");
            else if (was is not null && was.Alive != w.Alive)
                lines.Add($"worker {w.Id} {(w.Alive ? "alive again" : "offline")}, last heartbeat {w.LastHeartbeat:O}");
        }

        if (after.State != "Running" && before?.State != after.State)
            lines.Add($"federation {after.State.ToLowerInvariant()}" + (after.Reason is null ? "" : $": {after.Reason}"));
        return lines;
    }
}
