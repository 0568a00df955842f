namespace IcosFl.Learning.NodeData;

/// <summary>One node's file of a data folder: the node is the file's name without ".csv".</summary>
public sealed record NodeDataFile(string Node, string FileName, CsvReadResult Csv)
{
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
/// run's metric.
/// </summary>
public static class NodeDataDirectory
{
    /// <summary>Reads the folder; false with the problem (naming the folder or file) when it cannot be used.</summary>
    /// <param name="minimumPoints">Points of <paramref name="metric"/> each file needs; <paramref name="needFor"/> says why, for the message.</param>
    public static bool TryRead(string directory, string metric, out IReadOnlyList<NodeDataFile> files, out string? problem,
        int minimumPoints = 1, string? needFor = null)
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

            var node = new NodeDataFile(Path.GetFileNameWithoutExtension(file.Name), file.Name, csv);
            int points = node.Values(metric).Length;
            if (points == 0)
            {
                problem = $"{file.Name} has no {metric} values (metric is chosen with --run-config metric=...)";
                return false;
            }

            if (points < minimumPoints)
            {
                problem = $"{file.Name} holds {points} {metric} points; {minimumPoints} are needed{(needFor is null ? "" : $" ({needFor})")}";
                return false;
            }

            list.Add(node);
        }

        files = list;
        return true;
    }
}
