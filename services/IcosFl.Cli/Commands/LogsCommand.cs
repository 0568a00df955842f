using System.CommandLine;
using IcosFl.Cli.Logs;

namespace IcosFl.Cli.Commands;

public static class LogsCommand
{
    public static readonly TimeSpan FollowInterval = TimeSpan.FromMilliseconds(500);

    public static Command Create()
    {
        var id = new Argument<Guid>("federation-id") { Description = "The federation" };
        var logDir = new Option<string?>("--log-dir")
        {
            Description = "Folder of the processes' CLEF log files (default: $ICOSFL_LOG_DIR or .icosfl/logs)",
        };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new events until Ctrl-C" };
        var json = new Option<bool>("--json") { Description = "Print the events as they are stored: one CLEF JSON object per line" };
        var command = new Command("logs",
            "Show a federation's log events from every process that logs into the log folder (controller and workers on this host), oldest first")
        {
            id, logDir, follow, json,
        };
        command.SetAction(async (parse, ct) =>
        {
            var directory = parse.GetValue(logDir) ?? Environment.GetEnvironmentVariable("ICOSFL_LOG_DIR") ?? Path.Combine(".icosfl", "logs");
            if (!Directory.Exists(directory))
            {
                Console.Error.WriteLine($"icosfl logs: no log folder {Path.GetFullPath(directory)}; give the controller's --log-dir (or set ICOSFL_LOG_DIR)");
                return ExitCodes.BadUsage;
            }
            var federationId = parse.GetValue(id);
            if (Environment.GetEnvironmentVariable("ICOSFL_SEQ_URL") is { Length: > 0 } seq)
                Console.Error.WriteLine($"in Seq: {seq.TrimEnd('/')}/#/events?filter={Uri.EscapeDataString($"FederationId = '{federationId}'")}");
            var log = new FederationLog(directory, federationId);
            var printed = 0;
            try
            {
                do
                {
                    foreach (var e in log.ReadNew())
                    {
                        Console.Out.WriteLine(parse.GetValue(json) ? e.Json : e.Format());
                        printed++;
                    }
                    if (parse.GetValue(follow))
                        await Task.Delay(FollowInterval, ct);
                } while (parse.GetValue(follow));
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Ctrl-C ends --follow.
            }
            if (printed == 0 && !parse.GetValue(follow))
                Console.Error.WriteLine($"icosfl logs: no events of federation {federationId} in {Path.GetFullPath(directory)}");
            return ExitCodes.Success;
        });
        return command;
    }
}
