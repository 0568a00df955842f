using System.Globalization;

namespace IcosFl.Learning.NodeData;

/// <summary>A row of the import format that could not be read: its 1-based line number and why.</summary>
public sealed record CsvRowError(int Line, string Problem)
{
    public override string ToString() => $"line {Line}: {Problem}";
}

/// <summary>A good row of a CSV file: its 1-based line number, its timestamp and the values it held.</summary>
public sealed record CsvRow(int Line, DateTimeOffset Timestamp, IReadOnlyList<MetricSample> Samples);

/// <summary>What a CSV file held: the samples of its good rows and every bad row.</summary>
public sealed record CsvReadResult(IReadOnlyList<string> Columns, IReadOnlyList<MetricSample> Samples, int Rows, IReadOnlyList<CsvRowError> Errors)
{
    /// <summary>The good rows in file order, with their line numbers (what <see cref="TraceCheck"/> names).</summary>
    public IReadOnlyList<CsvRow> GoodRows { get; init; } = [];
}

/// <summary>
/// The node-data file format (import, replay, experiment --data): a header row "timestamp" plus any subset of
/// cpu_usage, memory_usage, power_consumption, cpu_utilisation, in any order; one row per sampling time.
/// A timestamp is ISO 8601 (2026-11-28T10:00:03Z; no offset means UTC) or Unix seconds (1764324003 or
/// 1764324003.5). An empty cell means the metric was not sampled then. Values must be finite and not negative.
/// </summary>
public static class NodeDataCsv
{
    public const string TimestampColumn = "timestamp";

    /// <summary>Reads a whole file; a header problem is a <see cref="FormatException"/>, row problems are collected.</summary>
    public static CsvReadResult Read(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var header = reader.ReadLine() ?? throw new FormatException("The file is empty: line 1 must be a header such as 'timestamp,cpu_usage,memory_usage,power_consumption'.");
        var columns = header.TrimStart('\uFEFF').Split(',').Select(c => c.Trim().Trim('"')).ToArray();
        if (columns.Length == 0 || columns[0] != TimestampColumn)
            throw new FormatException($"Line 1: the first column must be '{TimestampColumn}', found '{columns.FirstOrDefault()}'.");
        for (int c = 1; c < columns.Length; c++)
        {
            if (!NodeMetrics.All.Contains(columns[c]))
                throw new FormatException($"Line 1: column {c + 1} '{columns[c]}' is not a metric; known metrics: {string.Join(", ", NodeMetrics.All)}.");
            if (Array.IndexOf(columns, columns[c], 1) != c)
                throw new FormatException($"Line 1: column '{columns[c]}' appears twice.");
        }

        if (columns.Length == 1)
            throw new FormatException("Line 1: no metric column; add at least one of " + string.Join(", ", NodeMetrics.All) + ".");

        var samples = new List<MetricSample>();
        var goodRows = new List<CsvRow>();
        var errors = new List<CsvRowError>();
        int lineNumber = 1, rows = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            rows++;
            var cells = line.Split(',');
            if (cells.Length != columns.Length)
            {
                errors.Add(new CsvRowError(lineNumber, $"{cells.Length} cells, the header has {columns.Length}"));
                continue;
            }

            if (!TryParseTimestamp(cells[0].Trim().Trim('"'), out var timestamp))
            {
                errors.Add(new CsvRowError(lineNumber, $"timestamp '{cells[0].Trim()}' is neither ISO 8601 nor Unix seconds"));
                continue;
            }

            var rowSamples = new List<MetricSample>();
            string? problem = null;
            for (int c = 1; c < columns.Length && problem is null; c++)
            {
                var cell = cells[c].Trim().Trim('"');
                if (cell.Length == 0)
                    continue;
                if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
                    problem = $"{columns[c]} '{cell}' is not a finite number";
                else if (value < 0)
                    problem = $"{columns[c]} {cell} is negative";
                else
                    rowSamples.Add(new MetricSample(columns[c], timestamp, value));
            }

            if (problem is not null)
                errors.Add(new CsvRowError(lineNumber, problem));
            else
            {
                samples.AddRange(rowSamples);
                goodRows.Add(new CsvRow(lineNumber, timestamp, rowSamples));
            }
        }

        return new CsvReadResult(columns, samples, rows, errors) { GoodRows = goodRows };
    }

    public static CsvReadResult ReadFile(string path)
    {
        using var reader = new StreamReader(path);
        return Read(reader);
    }

    public static bool TryParseTimestamp(string text, out DateTimeOffset timestamp)
    {
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            timestamp = default;
            if (!double.IsFinite(seconds) || seconds < 0 || seconds > 253_402_300_799) // year 9999
                return false;
            timestamp = DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000));
            return true;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out timestamp);
    }

    /// <summary>Writes samples in the same format, one row per timestamp (for export and fixtures).</summary>
    public static void Write(TextWriter writer, IReadOnlyList<string> metrics, IEnumerable<MetricSample> samples)
    {
        writer.WriteLine(string.Join(',', [TimestampColumn, .. metrics]));
        foreach (var row in samples.GroupBy(s => s.Timestamp).OrderBy(g => g.Key))
        {
            var values = metrics.Select(m => row.Where(s => s.Metric == m).Select(s => s.Value.ToString("R", CultureInfo.InvariantCulture)).FirstOrDefault() ?? "");
            writer.WriteLine(string.Join(',', [row.Key.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture), .. values]));
        }
    }
}

/// <summary>
/// A test and demo source: replays a node-data file one row per read, stamped with the read's time (as a
/// live node would be), so a collector can be exercised without the machine's own /proc.
/// </summary>
public sealed class ReplaySource : IMetricSource
{
    private readonly IReadOnlyList<IGrouping<DateTimeOffset, MetricSample>> _rows;
    private int _next;

    public ReplaySource(CsvReadResult file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (file.Errors.Count > 0)
            throw new FormatException("Cannot replay a file with bad rows: " + string.Join("; ", file.Errors.Take(5)));
        // Rows are replayed in file order, so they must be in time order (as for import); repeats are one read.
        if (TraceCheck.Check("the replayed file", file, null, null, repair: false).Problem is { } problem)
            throw new FormatException("Cannot replay " + problem);
        Metrics = file.Columns.Skip(1).ToList();
        _rows = file.Samples.GroupBy(s => s.Timestamp).OrderBy(g => g.Key).ToList();
    }

    public IReadOnlyList<string> Metrics { get; }

    public string? Unavailable => null;

    /// <summary>True once every row has been replayed; reads then yield nothing.</summary>
    public bool Exhausted => _next >= _rows.Count;

    public IReadOnlyList<MetricSample> Read(DateTimeOffset now) =>
        Exhausted ? [] : _rows[_next++].Select(s => s with { Timestamp = now }).ToList();
}
