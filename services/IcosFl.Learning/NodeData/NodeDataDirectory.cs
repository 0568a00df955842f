namespace IcosFl.Learning.NodeData;

/// <summary>One node's file of a data folder: the node is the file's name without ".csv".</summary>
public sealed record NodeDataFile(string Node, string FileName, CsvReadResult Csv)
{
    /// <summary>The file's step (median spacing of its rows) in milliseconds; null with fewer than two rows.</summary>
    public long? StepMs { get; init; }

    /// <summary>The file's values of <paramref name="metric"/>, in time order.</summary>
    public float[] Values(string metric) =>
        Csv.Samples.Where(s => s.Metric == metric).OrderBy(s => s.Timestamp).Select(s => (float)s.Value).ToArray();

    /// <summary>Every row of the file in a memory store of its own (no retention or cap: a data folder is used whole).</summary>
    public InMemoryNodeStore ToStore(string node)
    {
        var store = new InMemoryNodeStore(node, new StoreLimits(TimeSpan.FromDays(36_500), int.MaxValue));
        store.Append(Csv.Samples);
        return store;
    }
}

/// <summary>
/// A folder of node-data files (`experiment --data DIR`, `simulate --data DIR`): one CSV per node in the import
/// format (<see cref="NodeDataCsv"/>), read in file-name order. Every file must read without bad rows and hold the
/// run's metric; each is checked and repaired by <see cref="TraceCheck"/> (gaps, repeated or out-of-order timestamps,
/// a constant metric), and all must share one step (median spacing), since a model step must mean the same time on every node.
/// </summary>
public static class NodeDataDirectory
{
    /// <summary>Reads the folder; false with the problem (naming the folder or file) when it cannot be used.</summary>
    /// <param name="minimumPoints">Points of <paramref name="metric"/> each file needs; <paramref name="needFor"/> says why, for the message.</param>
    /// <param name="warn">Receives each warning (naming the file and its lines); the caller shows them to the user.</param>
    public static bool TryRead(string directory, string metric, out IReadOnlyList<NodeDataFile> files, out string? problem,
        int minimumPoints = 1, string? needFor = null, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        files = [];
        problem = null;
        var dir = new DirectoryInfo(directory);
        if (!dir.Exists)
        {
            problem = $"--data {dir.FullName} does not exist";
            return false;
        }

        var csvFiles = dir.GetFiles("*.csv").OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
        if (csvFiles.Count == 0)
        {
            problem = $"--data {dir.FullName} holds no .csv files (one per worker, columns timestamp,{metric},...)";
            return false;
        }

        var list = new List<NodeDataFile>();
        foreach (var file in csvFiles)
        {
            CsvReadResult csv;
            try
            {
                csv = NodeDataCsv.ReadFile(file.FullName);
            }
            catch (FormatException e)
            {
                problem = $"{file.Name}: {e.Message}";
                return false;
            }

            if (csv.Errors.Count > 0)
            {
                problem = $"{file.Name}: {csv.Errors.Count} bad rows, first {csv.Errors[0]}";
                return false;
            }

            if (!csv.Samples.Any(s => s.Metric == metric))
            {
                problem = $"{file.Name} has no {metric} values (metric is chosen with --run-config metric=...)";
                return false;
            }

            var check = TraceCheck.Check(file.Name, csv, metric, expectedStepMs: null, repair: true);
            foreach (var warning in check.Warnings)
                warn?.Invoke(warning);
            if (check.Problem is not null)
            {
                problem = check.Problem;
                return false;
            }

            var node = new NodeDataFile(Path.GetFileNameWithoutExtension(file.Name), file.Name, check.Csv) { StepMs = check.StepMs };
            int points = node.Values(metric).Length;
            if (points < minimumPoints)
            {
                var used = csv.Samples.Count(s => s.Metric == metric) == points ? "" : " to use (after the repairs above)";
                problem = $"{file.Name} holds {points} {metric} points{used}; {minimumPoints} are needed{(needFor is null ? "" : $" ({needFor})")}";
                return false;
            }

            list.Add(node);
        }

        var stepped = list.Where(f => f.StepMs is not null).ToList();
        if (stepped.Count > 1 && stepped.Any(f => Math.Abs(f.StepMs!.Value - stepped[0].StepMs!.Value) > TraceCheck.IntervalTolerance * stepped[0].StepMs!.Value))
        {
            problem = $"--data {dir.FullName}: the files' rows are not equally spaced across nodes (median spacing " +
                      string.Join(", ", stepped.Select(f => $"{f.FileName} {TraceGaps.Describe(f.StepMs!.Value)}")) +
                      "); a model step must mean the same time on every node, so resample them to one interval";
            return false;
        }

        files = list;
        return true;
    }
}
