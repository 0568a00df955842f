namespace IcosFl.Learning.NodeData;

/// <summary>A spacing wider than the trace's step: before point <paramref name="Index"/>, <paramref name="Missing"/> samples are missing.</summary>
public readonly record struct TraceGap(int Index, int Missing);

/// <summary>How a trace's timestamps are laid out: its step and where samples are missing.</summary>
public sealed record GapPlan(long StepMs, IReadOnlyList<TraceGap> ShortGaps, IReadOnlyList<TraceGap> LongGaps)
{
    /// <summary>The first point after the last long gap: where the latest unbroken stretch starts.</summary>
    public int Start => LongGaps.Count == 0 ? 0 : LongGaps[^1].Index;

    /// <summary>Short gaps inside the stretch that is kept (from <see cref="Start"/> on).</summary>
    public IEnumerable<TraceGap> FilledGaps => ShortGaps.Where(g => g.Index > Start);
}

/// <summary>
/// Gaps in a time-ordered trace, measured against its step (the median spacing, or the configured scrape interval):
/// a spacing up to 1.5 steps is sampling jitter; up to <see cref="MaxFilled"/> missing samples is a short gap, filled by
/// linear interpolation onto the step grid; more is a long gap, and only the stretch after the last one is trained on,
/// so no window ever straddles a gap.
/// </summary>
public static class TraceGaps
{
    /// <summary>The most missing samples in a row that are filled in (6 s at the 3 s scrape interval).</summary>
    public const int MaxFilled = 2;

    /// <summary>The median spacing of strictly increasing times (at least two).</summary>
    public static long MedianStep(IReadOnlyList<long> times)
    {
        ArgumentNullException.ThrowIfNull(times);
        if (times.Count < 2)
            throw new ArgumentException($"A step needs at least two times, got {times.Count}.", nameof(times));
        var steps = new long[times.Count - 1];
        for (int i = 1; i < times.Count; i++)
            steps[i - 1] = times[i] - times[i - 1];
        Array.Sort(steps);
        int mid = steps.Length / 2;
        return steps.Length % 2 == 1 ? steps[mid] : (steps[mid - 1] + steps[mid]) / 2;
    }

    public static GapPlan Plan(IReadOnlyList<long> times, long stepMs)
    {
        ArgumentNullException.ThrowIfNull(times);
        if (stepMs <= 0)
            throw new ArgumentOutOfRangeException(nameof(stepMs), stepMs, "The step must be positive.");
        var shortGaps = new List<TraceGap>();
        var longGaps = new List<TraceGap>();
        for (int i = 1; i < times.Count; i++)
        {
            long spacing = times[i] - times[i - 1];
            if (2 * spacing <= 3 * stepMs)
                continue;
            int missing = (int)Math.Max(1, Math.Round((double)spacing / stepMs) - 1);
            (missing <= MaxFilled ? shortGaps : longGaps).Add(new TraceGap(i, missing));
        }

        return new GapPlan(stepMs, shortGaps, longGaps);
    }

    /// <summary>
    /// The points from <see cref="GapPlan.Start"/> on, short gaps filled: each missing point evenly spaced between its
    /// neighbours, each column interpolated linearly where both neighbours hold a value (null where either does not).
    /// </summary>
    public static (List<long> Times, List<double?[]> Rows) Fill(IReadOnlyList<long> times, IReadOnlyList<double?[]> rows, GapPlan plan)
    {
        ArgumentNullException.ThrowIfNull(times);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(plan);
        var missingBefore = plan.FilledGaps.ToDictionary(g => g.Index, g => g.Missing);
        var outTimes = new List<long>();
        var outRows = new List<double?[]>();
        for (int i = plan.Start; i < times.Count; i++)
        {
            if (missingBefore.TryGetValue(i, out int missing))
            {
                for (int k = 1; k <= missing; k++)
                {
                    double f = (double)k / (missing + 1);
                    outTimes.Add(times[i - 1] + (long)Math.Round((times[i] - times[i - 1]) * f));
                    outRows.Add(rows[i].Select((b, c) => rows[i - 1][c] is { } a && b is { } bv ? a + (bv - a) * f : (double?)null).ToArray());
                }
            }

            outTimes.Add(times[i]);
            outRows.Add(rows[i]);
        }

        return (outTimes, outRows);
    }

    /// <summary>A time span as a short text: "3 s", "1.5 s", "2 h 5 min".</summary>
    public static string Describe(long ms)
    {
        var span = TimeSpan.FromMilliseconds(ms);
        if (span.TotalSeconds < 120)
            return $"{span.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} s";
        if (span.TotalHours < 2)
            return $"{span.TotalMinutes.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture)} min";
        return $"{span.TotalHours.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture)} h";
    }
}
