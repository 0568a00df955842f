using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Learning.NodeData;

namespace IcosFl.Cli.Commands;

/// <summary>`icosfl data import|export|show|collect`: a node's local store (a folder under the data dir, or the node's own Redis).</summary>
public static class DataCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static Command Create()
    {
        var command = new Command("data", "A node's own metric history: import or export a CSV, show what is held, collect samples of this machine");
        command.Subcommands.Add(Import());
        command.Subcommands.Add(Export());
        command.Subcommands.Add(Show());
        command.Subcommands.Add(Collect());
        return command;
    }

    private static Option<string> NodeOption() => new("--node")
    {
        Description = "The node whose store is used (default: this machine's host name)",
        DefaultValueFactory = _ => Environment.MachineName,
    };

    private static Command Import()
    {
        var file = new Option<FileInfo>("--file", "-f") { Description = "CSV with a header: timestamp and any of cpu_usage, memory_usage, power_consumption, cpu_utilisation", Required = true };
        var skipBad = new Option<bool>("--skip-bad-rows") { Description = "Store the good rows even when some rows are bad (by default a file with bad rows stores nothing)" };
        var interval = new Option<double>("--scrape-interval")
        {
            Description = "Seconds between the node's samples: a file whose rows are spaced otherwise (median spacing, 10 % tolerance) is refused",
            DefaultValueFactory = _ => 3,
        };
        var (node, where) = (NodeOption(), new NodeStoreOptions());
        var command = new Command("import", "Load history from a CSV into a node's store; bad rows are reported with their line numbers")
        {
            file, node, skipBad, interval,
        };
        where.AddTo(command);
        command.SetAction(async (parse, _) =>
        {
            var path = parse.GetValue(file)!;
            double seconds = parse.GetValue(interval);
            if (!(double.IsFinite(seconds) && seconds > 0))
                return Fail("data import", $"--scrape-interval must be a positive number of seconds, got {seconds}");
            if (!path.Exists)
                return Fail("data import", $"--file {path.FullName} does not exist");
            var (opened, exit) = await TryOpenAsync(where, parse, parse.GetValue(node)!, "data import");
            if (opened is null)
                return exit;
            using var owned = opened;
            var store = opened.Store;

            CsvReadResult csv;
            try
            {
                csv = NodeDataCsv.ReadFile(path.FullName);
            }
            catch (FormatException e)
            {
                return Fail("data import", $"{path.Name}: {e.Message}");
            }

            foreach (var error in csv.Errors.Take(20))
                Console.Error.WriteLine($"icosfl data import: {path.Name} {error}");
            if (csv.Errors.Count > 20)
                Console.Error.WriteLine($"icosfl data import: ... and {csv.Errors.Count - 20} more bad rows");
            if (csv.Errors.Count > 0 && !parse.GetValue(skipBad))
                return Fail("data import", $"{csv.Errors.Count} of {csv.Rows} rows are bad; nothing was stored (fix them, or pass --skip-bad-rows to store the {csv.Rows - csv.Errors.Count} good rows)");

            // Bad input (docs/node-data.md): out-of-order rows or another interval refuse the file; repeats, gaps and a
            // constant metric are warned about, and the rows are stored as recorded (training repairs or refuses them).
            var check = TraceCheck.Check(path.Name, csv, metric: null, expectedStepMs: (long)Math.Round(seconds * 1000), repair: false);
            foreach (var warning in check.Warnings)
                Console.Error.WriteLine($"icosfl data import: warning: {warning}");
            foreach (var metric in check.Problem is null ? csv.Columns.Skip(1) : [])
            {
                if (TraceCheck.Constant(path.Name, check.Csv, metric) is { } constant)
                    Console.Error.WriteLine($"icosfl data import: warning: {constant}; a worker will decline to train on it");
            }

            if (check.Problem is not null)
                return Fail("data import", check.Problem.Replace("nothing was used", "nothing was stored", StringComparison.Ordinal) +
                                           (check.Problem.Contains("scrape interval", StringComparison.Ordinal) ? $" (--scrape-interval {seconds})" : ""));
            csv = check.Csv;
            var result = store.Append(csv.Samples);
            var summary = store.Summarise();
            Console.Error.WriteLine(
                $"icosfl data import: node {summary.Node}: {result.Added} points stored from {csv.Rows - csv.Errors.Count} rows" +
                $" ({result.AlreadyHeld} already held and kept as they were, {result.Dropped} beyond the retention or capacity dropped) in {summary.Store}");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Export()
    {
        var output = new Option<FileInfo>("--out", "-o") { Description = "The CSV to write (in the import format); - for stdout", Required = true };
        var (node, where) = (NodeOption(), new NodeStoreOptions());
        var command = new Command("export", "Write a node's stored metrics as one CSV in the import format: a row per timestamp, a column per metric held")
        {
            node, output,
        };
        where.AddTo(command);
        command.SetAction(async (parse, _) =>
        {
            var (opened, exit) = await TryOpenAsync(where, parse, parse.GetValue(node)!, "data export");
            if (opened is null)
                return exit;
            using var owned = opened;
            var store = opened.Store;
            var samples = new List<MetricSample>();
            var metrics = new List<string>();
            foreach (var metric in NodeMetrics.All)
            {
                var (times, values) = store.Points(metric);
                if (times.Length == 0)
                    continue;
                metrics.Add(metric);
                // Stores hold float32: written as the shortest text of that float (2.05, not 2.049999952316284).
                for (int i = 0; i < times.Length; i++)
                    samples.Add(new MetricSample(metric, DateTimeOffset.FromUnixTimeMilliseconds(times[i]),
                        double.Parse(values[i].ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)));
            }

            if (metrics.Count == 0)
                return Fail("data export", $"node {parse.GetValue(node)} holds no points in {store.Summarise().Store}; nothing to export");
            var path = parse.GetValue(output)!;
            if (path.Name == "-")
            {
                NodeDataCsv.Write(Console.Out, metrics, samples);
            }
            else
            {
                using (var writer = new StreamWriter(path.FullName))
                    NodeDataCsv.Write(writer, metrics, samples);
                Console.Error.WriteLine($"icosfl data export: {samples.Count} points of {string.Join(", ", metrics)} written to {path.FullName}");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Show()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON document on stdout" };
        var (node, where) = (NodeOption(), new NodeStoreOptions());
        var command = new Command("show", "Summarise a node's store: points per metric, time range, last values, power availability")
        {
            node, json,
        };
        where.AddTo(command);
        command.SetAction(async (parse, _) =>
        {
            var (opened, exit) = await TryOpenAsync(where, parse, parse.GetValue(node)!, "data show");
            if (opened is null)
                return exit;
            using var owned = opened;
            var summary = opened.Store.Summarise();
            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(summary, Json));
                return ExitCodes.Success;
            }

            Console.Out.WriteLine($"node {summary.Node} ({summary.Store})");
            if (summary.Metrics.Count == 0)
                Console.Out.WriteLine("  no data: import a CSV (icosfl data import) or collect (icosfl data collect)");
            foreach (var m in summary.Metrics)
            {
                Console.Out.WriteLine(m.Points == 0
                    ? $"  {m.Metric,-18} unavailable: {m.Unavailable ?? "no points"}"
                    : $"  {m.Metric,-18} {m.Points,7} points  {m.First:u} .. {m.Last:u}  last {m.LastValue!.Value.ToString("G6", CultureInfo.InvariantCulture)}");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Collect()
    {
        var interval = new Option<double>("--scrape-interval") { Description = "Seconds between samples", DefaultValueFactory = _ => 3 };
        var count = new Option<int>("--count", "-n") { Description = "Samples to take before stopping (0 = until Ctrl+C)", DefaultValueFactory = _ => 0 };
        var (node, where) = (NodeOption(), new NodeStoreOptions());
        var command = new Command("collect", "Sample this machine's metrics (/proc, and Intel RAPL where present) into a node's store, as a worker does")
        {
            node, interval, count,
        };
        where.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            double seconds = parse.GetValue(interval);
            int samples = parse.GetValue(count);
            if (!(double.IsFinite(seconds) && seconds > 0))
                return Fail("data collect", $"--scrape-interval must be a positive number of seconds, got {seconds}");
            if (samples < 0)
                return Fail("data collect", $"--count must be 0 or more, got {samples}");
            var (opened, exit) = await TryOpenAsync(where, parse, parse.GetValue(node)!, "data collect");
            if (opened is null)
                return exit;
            using var owned = opened;

            var collector = new MetricsCollector(MetricsCollector.LinuxSources(), opened.Store);
            foreach (var source in collector.Sources.Where(s => s.Unavailable is not null))
                Console.Error.WriteLine($"icosfl data collect: {string.Join(", ", source.Metrics)} unavailable: {source.Unavailable}");
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(seconds));
            int taken = 0;
            try
            {
                do
                {
                    var result = collector.Scrape(DateTimeOffset.UtcNow);
                    taken++;
                    var values = string.Join(", ", result.Samples.Select(s => $"{s.Metric} {s.Value.ToString("G6", CultureInfo.InvariantCulture)}"));
                    Console.Error.WriteLine($"sample {taken}: {(values.Length == 0 ? "nothing yet" : values)}");
                    foreach (var failure in result.Failures)
                        Console.Error.WriteLine($"icosfl data collect: {failure.Source} failed: {failure.Problem}");
                }
                while ((samples == 0 || taken < samples) && await timer.WaitForNextTickAsync(cancellationToken));
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C: what was sampled is already in the store.
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static async Task<(OpenedNodeStore? Store, int ExitCode)> TryOpenAsync(NodeStoreOptions where, ParseResult parse, string node, string verb)
    {
        try
        {
            return (await where.OpenAsync(parse, node), ExitCodes.Success);
        }
        catch (UnreachableException e)
        {
            return (null, Fail(verb, e.Message, ExitCodes.Unreachable));
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException or UnauthorizedAccessException)
        {
            return (null, Fail(verb, e.Message));
        }
    }

    /// <summary>"24h", "90m", "3600s", "2d" (or plain seconds) as a positive time span.</summary>
    internal static bool TryParseSpan(string text, out TimeSpan span)
    {
        span = default;
        text = text.Trim();
        if (text.Length == 0)
            return false;
        double unit = char.ToLowerInvariant(text[^1]) switch { 'd' => 86400, 'h' => 3600, 'm' => 60, 's' => 1, _ => 0 };
        var number = unit == 0 ? text : text[..^1];
        unit = unit == 0 ? 1 : unit;
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value) || value <= 0)
            return false;
        span = TimeSpan.FromSeconds(value * unit);
        return true;
    }

    private static int Fail(string verb, string message, int exitCode = ExitCodes.BadUsage)
    {
        Console.Error.WriteLine($"icosfl {verb}: {message}");
        return exitCode;
    }
}
