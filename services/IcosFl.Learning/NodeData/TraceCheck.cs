namespace IcosFl.Learning.NodeData;

/// <summary>
/// What <see cref="TraceCheck"/> found in a file: the rows to use (repaired when asked), the trace's step, warnings
/// naming the file and its lines, and the problem that refuses the file (null when it can be used).
/// </summary>
public sealed record TraceCheckResult(CsvReadResult Csv, long? StepMs, IReadOnlyList<string> Warnings, string? Problem);

/// <summary>
/// Checks a node-data file's timestamps and values before anything is stored or trained on (docs/node-data.md, "Bad
/// input"): rows out of time order refuse the file; rows repeating a timestamp are dropped, the first kept, with a
/// warning; the step is the median spacing, refused when it differs by more than 10 % from an expected scrape
/// interval and otherwise warned about when it is not the 3 s default; short gaps (up to <see cref="TraceGaps.MaxFilled"/>
/// missing samples) are filled by linear interpolation and long gaps split the trace, only the stretch after the last
/// one being used; a forecast metric with a single value throughout is refused.
/// </summary>
public static class TraceCheck
{
    /// <summary>ICOS-FL's scrape interval.</summary>
    public const long DefaultStepMs = 3000;

    /// <summary>How far the median spacing may be from the expected interval, as a fraction of it.</summary>
    public const double IntervalTolerance = 0.1;

    /// <param name="fileName">Named in every message.</param>
    /// <param name="metric">The forecast metric, checked for a constant series; null to skip that check.</param>
    /// <param name="expectedStepMs">The scrape interval the file must have, or null to take its own median spacing.</param>
    /// <param name="repair">True for training inputs: fill short gaps and keep only what follows the last long gap.
    /// False for import: the rows are stored as recorded, and the warnings say how training will treat them; a
    /// constant metric is then a warning, not a problem.</param>
    public static TraceCheckResult Check(string fileName, CsvReadResult csv, string? metric, long? expectedStepMs, bool repair)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        ArgumentNullException.ThrowIfNull(csv);
        var warnings = new List<string>();
        var rows = csv.GoodRows;

        var early = new List<string>();
        for (int i = 1; i < rows.Count; i++)
        {
            if (rows[i].Timestamp < rows[i - 1].Timestamp)
                early.Add($"line {rows[i].Line} ({rows[i].Timestamp:O}) after line {rows[i - 1].Line} ({rows[i - 1].Timestamp:O})");
        }

        if (early.Count > 0)
            return new(csv, null, warnings,
                $"{fileName}: {early.Count} row{(early.Count == 1 ? " is" : "s are")} earlier than the row before: {List(early)}; " +
                "the rows must be in time order (sort them by timestamp); nothing was used");

        var kept = new List<CsvRow>(rows.Count);
        var repeats = new List<string>();
        foreach (var row in rows)
        {
            if (kept.Count > 0 && kept[^1].Timestamp == row.Timestamp)
                repeats.Add($"line {row.Line} (= line {kept[^1].Line}, {row.Timestamp:O})");
            else
                kept.Add(row);
        }

        if (repeats.Count > 0)
            warnings.Add($"{fileName}: {repeats.Count} row{(repeats.Count == 1 ? " repeats" : "s repeat")} the timestamp of the row before and " +
                         $"{(repeats.Count == 1 ? "was" : "were")} dropped, the first row of each timestamp kept: {List(repeats)}");

        long? step = null;
        if (kept.Count >= 2)
        {
            var times = kept.Select(r => r.Timestamp.ToUnixTimeMilliseconds()).ToArray();
            long median = TraceGaps.MedianStep(times);
            step = expectedStepMs ?? median;
            if (expectedStepMs is { } expected && Math.Abs(median - expected) > IntervalTolerance * expected)
                return new(csv, median, warnings,
                    $"{fileName}: its rows are {TraceGaps.Describe(median)} apart (median spacing) but the scrape interval is {TraceGaps.Describe(expected)}; " +
                    "nothing was used (resample the file, or give the interval the node really samples at)");
            if (expectedStepMs is null && Math.Abs(median - DefaultStepMs) > IntervalTolerance * DefaultStepMs)
                warnings.Add($"{fileName}: its rows are {TraceGaps.Describe(median)} apart (median spacing), not the {TraceGaps.Describe(DefaultStepMs)} scrape interval; " +
                             $"used at its own step, so one model step (and each forecast-horizon step) is {TraceGaps.Describe(median)} here");

            var plan = TraceGaps.Plan(times, step.Value);
            if (plan.ShortGaps.Count > 0)
            {
                int points = plan.ShortGaps.Sum(g => g.Missing);
                warnings.Add($"{fileName}: {plan.ShortGaps.Count} short gap{(plan.ShortGaps.Count == 1 ? "" : "s")} (at most {TraceGaps.MaxFilled} missing samples): " +
                             $"{List(plan.ShortGaps.Select(g => Between(kept, g)).ToList())}; " +
                             (repair ? $"{points} point{(points == 1 ? "" : "s")} filled by linear interpolation" : "stored as recorded, filled by linear interpolation when trained on"));
            }

            if (plan.LongGaps.Count > 0)
            {
                var last = plan.LongGaps[^1];
                warnings.Add($"{fileName}: {plan.LongGaps.Count} long gap{(plan.LongGaps.Count == 1 ? "" : "s")} (more than {TraceGaps.MaxFilled} missing samples): " +
                             $"{List(plan.LongGaps.Select(g => Between(kept, g)).ToList())}; " +
                             (repair
                                 ? $"only the {kept.Count - last.Index} rows from line {kept[last.Index].Line} on are used, the {last.Index} rows before set aside"
                                 : "stored as recorded; training uses only the stretch after the last gap") +
                             " (no window straddles a gap)");
            }

            if (repair && (plan.ShortGaps.Count > 0 || plan.LongGaps.Count > 0 || repeats.Count > 0))
                csv = Rebuild(csv, kept, times, plan);
            else if (repeats.Count > 0)
                csv = csv with { Samples = kept.SelectMany(r => r.Samples).ToList(), GoodRows = kept };
        }

        if (metric is not null && Constant(fileName, csv, metric) is { } what)
        {
            if (repair)
                return new(csv, step, warnings, what + "; not trained on");
            warnings.Add(what + "; a worker will decline to train on it");
        }

        return new(csv, step, warnings, null);
    }

    /// <summary>Why <paramref name="metric"/> cannot be learnt from the file when it holds one value at every point (two or more), else null.</summary>
    public static string? Constant(string fileName, CsvReadResult csv, string metric)
    {
        ArgumentNullException.ThrowIfNull(csv);
        var values = csv.Samples.Where(s => s.Metric == metric).Select(s => s.Value).ToList();
        if (values.Count < 2 || values.Min() != values.Max())
            return null;
        return $"{fileName}: {metric} is {values[0].ToString("R", System.Globalization.CultureInfo.InvariantCulture)} at all {values.Count} points, " +
               "a constant series with nothing to learn (its min/max scaling has no range)";
    }

    private static CsvReadResult Rebuild(CsvReadResult csv, List<CsvRow> kept, long[] times, GapPlan plan)
    {
        var metrics = csv.Columns.Skip(1).ToArray();
        var rows = kept.Select(r => metrics.Select(m => r.Samples.Where(s => s.Metric == m).Select(s => (double?)s.Value).FirstOrDefault()).ToArray()).ToList();
        var (outTimes, outRows) = TraceGaps.Fill(times, rows, plan);
        var lines = new Dictionary<long, int>();
        foreach (var r in kept)
            lines[r.Timestamp.ToUnixTimeMilliseconds()] = r.Line;
        var goodRows = new List<CsvRow>(outTimes.Count);
        for (int i = 0; i < outTimes.Count; i++)
        {
            var at = DateTimeOffset.FromUnixTimeMilliseconds(outTimes[i]);
            var samples = new List<MetricSample>();
            for (int c = 0; c < metrics.Length; c++)
            {
                if (outRows[i][c] is { } v)
                    samples.Add(new MetricSample(metrics[c], at, v));
            }

            // A filled-in row has no line of its own: 0.
            goodRows.Add(new CsvRow(lines.GetValueOrDefault(outTimes[i]), at, samples));
        }

        return csv with { Samples = goodRows.SelectMany(r => r.Samples).ToList(), GoodRows = goodRows };
    }

    private static string Between(List<CsvRow> rows, TraceGap gap) =>
        $"line {rows[gap.Index - 1].Line} to line {rows[gap.Index].Line} ({TraceGaps.Describe(rows[gap.Index].Timestamp.ToUnixTimeMilliseconds() - rows[gap.Index - 1].Timestamp.ToUnixTimeMilliseconds())}, {gap.Missing} missing)";

    private static string List(IReadOnlyList<string> items) =>
        string.Join(", ", items.Take(5)) + (items.Count > 5 ? $" and {items.Count - 5} more" : "");
}
