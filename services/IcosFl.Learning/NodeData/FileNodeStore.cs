using System.Globalization;
using System.Text.Json;

namespace IcosFl.Learning.NodeData;

/// <summary>
/// A node store on local disk (embedded mode, and `icosfl data` without Redis): under
/// <c>{dataDir}/{node}/</c> one append-only file per metric (<c>{metric}.csv</c>, lines "unix_ms,value") and
/// <c>unavailable.json</c>. New points are appended, so a crash loses at most the line being written (a torn
/// last line is skipped on load); the file is rewritten atomically (temp file + rename) once more than half
/// of its lines have fallen out of the limits.
/// </summary>
public sealed class FileNodeStore : INodeStore
{
    private const string UnavailableFile = "unavailable.json";
    private readonly InMemoryNodeStore _memory;
    private readonly Dictionary<string, int> _fileLines = [];

    public FileNodeStore(string dataDirectory, string node, StoreLimits? limits = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        _memory = new InMemoryNodeStore(node, limits);
        Directory = Path.GetFullPath(Path.Combine(dataDirectory, node));
        System.IO.Directory.CreateDirectory(Directory);
        foreach (var metric in NodeMetrics.All)
            Load(metric);
        var marks = Path.Combine(Directory, UnavailableFile);
        if (File.Exists(marks))
        {
            var reasons = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(marks))
                ?? throw new FormatException($"{marks} does not hold a JSON object of metric -> reason.");
            foreach (var (metric, reason) in reasons)
                _memory.MarkUnavailable(metric, reason);
        }
    }

    /// <summary>The node's folder.</summary>
    public string Directory { get; }

    public string Node => _memory.Node;

    public AppendResult Append(IReadOnlyList<MetricSample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        lock (_memory.SyncRoot)
        {
            var added = new List<MetricSample>();
            var result = _memory.AppendLocked(samples, added);
            foreach (var group in added.GroupBy(s => s.Metric))
            {
                var path = FileOf(group.Key);
                using (var writer = new StreamWriter(path, append: true))
                {
                    foreach (var sample in group)
                        writer.Write(Line(sample.Timestamp.ToUnixTimeMilliseconds(), (float)sample.Value));
                }

                _fileLines[group.Key] = _fileLines.GetValueOrDefault(group.Key) + group.Count();
                var (times, _) = _memory.Points(group.Key);
                if (_fileLines[group.Key] > 2 * times.Length)
                    Compact(group.Key);
            }

            return result;
        }
    }

    public void MarkUnavailable(string metric, string? reason)
    {
        lock (_memory.SyncRoot)
        {
            _memory.MarkUnavailable(metric, reason);
            WriteAtomically(Path.Combine(Directory, UnavailableFile), JsonSerializer.Serialize(_memory.UnavailableMarks));
        }
    }

    public IReadOnlyList<float>? GetSeries(string metric) => _memory.GetSeries(metric);

    public IReadOnlyDictionary<string, int> DataPoints() => _memory.DataPoints();

    public string? UnavailableReason(string metric) => _memory.UnavailableReason(metric);

    public (long[] TimesUnixMs, float[] Values) Points(string metric) => _memory.Points(metric);

    public NodeDataSummary Summarise() => _memory.Summarise("file " + Directory);

    private string FileOf(string metric) => Path.Combine(Directory, metric + ".csv");

    private void Load(string metric)
    {
        var path = FileOf(metric);
        if (!File.Exists(path))
            return;
        var text = File.ReadAllText(path);
        var lines = text.Split('\n');
        var samples = new List<MetricSample>(lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            bool last = i == lines.Length - 1;
            if (lines[i].Length == 0)
                continue;
            if (!TryParseLine(lines[i], out var unixMs, out var value))
            {
                // Only the final line may be torn (a crash mid-append); anything else is damage worth stopping for.
                if (last)
                    break;
                throw new FormatException($"{path} line {i + 1}: '{lines[i]}' is not 'unix_ms,value'.");
            }

            samples.Add(new MetricSample(metric, DateTimeOffset.FromUnixTimeMilliseconds(unixMs), value));
        }

        // A torn line without its newline would glue onto the next append: start clean.
        if (text.Length > 0 && text[^1] != '\n')
            WriteAtomically(path, string.Concat(samples.Select(s => Line(s.Timestamp.ToUnixTimeMilliseconds(), (float)s.Value))));
        _memory.Append(samples);
        _fileLines[metric] = samples.Count;
        if (samples.Count > 2 * _memory.Points(metric).TimesUnixMs.Length)
            Compact(metric);
    }

    private void Compact(string metric)
    {
        var (times, values) = _memory.Points(metric);
        WriteAtomically(FileOf(metric), string.Concat(times.Select((t, i) => Line(t, values[i]))));
        _fileLines[metric] = times.Length;
    }

    private static string Line(long unixMs, float value) =>
        unixMs.ToString(CultureInfo.InvariantCulture) + "," + value.ToString("R", CultureInfo.InvariantCulture) + "\n";

    private static bool TryParseLine(string line, out long unixMs, out float value)
    {
        (unixMs, value) = (0, 0);
        int comma = line.IndexOf(',');
        return comma > 0
            && long.TryParse(line.AsSpan(0, comma), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out unixMs)
            && float.TryParse(line.AsSpan(comma + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out value)
            && float.IsFinite(value);
    }

    private static void WriteAtomically(string path, string contents)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, contents);
        File.Move(temporary, path, overwrite: true);
    }
}
