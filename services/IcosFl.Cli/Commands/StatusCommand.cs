using System.CommandLine;
using System.Globalization;
using IcosFl.Controller.Status;

namespace IcosFl.Cli.Commands;

public static class StatusCommand
{
    public static Command Create()
    {
        var connection = new ConnectionOptions();
        var id = new Argument<Guid>("federation-id") { Description = "The federation" };
        var json = new Option<bool>("--json") { Description = "Print the status as one JSON document" };
        var watch = new Option<bool>("--watch") { Description = "Keep printing as rounds progress, until the federation ends" };
        var patience = new Option<int>("--heartbeat-patience") { Description = "As the controller's", DefaultValueFactory = _ => 2 };
        var command = new Command("status", "Show a federation's state, rounds and workers (read from Redis)") { id, json, watch, patience };
        connection.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var settings = connection.Read(parse);
            using var reading = await StatusReading.OpenAsync(settings, "status", parse.GetValue(patience));
            if (reading is null)
                return ExitCodes.Unreachable;
            var reader = reading.Reader;
            var federationId = parse.GetValue(id);
            if (parse.GetValue(watch) && !parse.GetValue(json))
                return await StatusWatch.RunAsync(() => reader.GetAsync(federationId), federationId, settings.Redis, ct);
            string? lastPrinted = null;
            while (true)
            {
                var status = await reader.GetAsync(federationId);
                if (status is null)
                {
                    Console.Error.WriteLine($"icosfl status: no federation {federationId} in Redis at {settings.Redis}");
                    return ExitCodes.BadUsage;
                }
                var text = parse.GetValue(json) ? CliJson.Serialize(status) : Describe(status);
                if (text != lastPrinted)
                {
                    Console.Out.WriteLine(text);
                    lastPrinted = text;
                }
                if (!parse.GetValue(watch) || status.State != "Running")
                    return status.State is "Running" or "Completed" ? ExitCodes.Success : ExitCodes.FederationFailed;
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
        });
        return command;
    }

    public static string Describe(FederationStatus s)
    {
        var c = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            $"federation {s.FederationId}: {s.State} ({s.Phase}), round {s.Round}/{s.NumServerRounds}, {s.Strategy} on {s.Metric}" +
            (s.Reason is null ? "" : $", reason: {s.Reason}"),
        };
        if (s.Waiting is not null)
            lines.Add($"  {s.Waiting}");
        foreach (var r in s.Rounds)
            lines.Add($"  round {r.Round} (attempt {r.Attempt}) {r.State}: {r.Participants.Count} participants" +
                (r.TrainLoss is { } t ? ", train loss " + t.ToString("G4", c) : "") +
                (r.EvalLoss is { } e ? ", eval loss " + e.ToString("G4", c) : "") +
                (r.Reason is null ? "" : $", {r.Reason}"));
        foreach (var w in s.Workers)
            lines.Add($"  worker {w.Id} on {w.Host}: {(w.Alive ? "alive" : "offline")}, last heartbeat {w.LastHeartbeat:O}");
        return string.Join(Environment.NewLine, lines);
    }
}
