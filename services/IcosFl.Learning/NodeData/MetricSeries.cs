namespace IcosFl.Learning.NodeData;

/// <summary>
/// One metric's points of one node, kept sorted by time (Unix milliseconds), one value per timestamp, and capped:
/// points older than the newest minus the retention, and the oldest beyond the capacity, are dropped.
/// Retention counts back from the series' newest point rather than from the wall clock, so imported history
/// is kept for as long as it is the node's latest data. Not thread-safe; the stores lock around it.
/// </summary>
public sealed class MetricSeries(StoreLimits limits)
{
    private readonly List<long> _times = [];
    private readonly List<float> _values = [];

    public int Count => _times.Count;

    public IReadOnlyList<float> Values => _values;

    public IReadOnlyList<long> TimesUnixMs => _times;

    /// <summary>Inserts in time order; false when a point with this timestamp is already held (it is kept, not replaced).</summary>
    public bool Add(long unixMs, float value)
    {
        if (_times.Count == 0 || unixMs > _times[^1])
        {
            _times.Add(unixMs);
            _values.Add(value);
            return true;
        }

        int at = _times.BinarySearch(unixMs);
        if (at >= 0)
            return false;
        _times.Insert(~at, unixMs);
        _values.Insert(~at, value);
        return true;
    }

    /// <summary>Drops what falls outside the limits; returns how many points went.</summary>
    public int Trim()
    {
        if (_times.Count == 0)
            return 0;
        long oldestKept = _times[^1] - (long)limits.Retention.TotalMilliseconds;
        int expired = _times.BinarySearch(oldestKept);
        expired = expired >= 0 ? expired : ~expired;
        // Several points could share oldestKept only if times repeated, which Add prevents.
        int drop = Math.Max(expired, _times.Count - limits.Capacity);
        if (drop > 0)
        {
            _times.RemoveRange(0, drop);
            _values.RemoveRange(0, drop);
        }

        return drop;
    }
}

/// <summary>How much a node store keeps per metric: a time span back from the newest point, and a point count.</summary>
public sealed record StoreLimits(TimeSpan Retention, int Capacity)
{
    /// <summary>24 h (ICOS-FL's retention), and room for that at one point a second.</summary>
    public static StoreLimits Default { get; } = new(TimeSpan.FromHours(24), 86_400);

    public void Validate()
    {
        if (Retention <= TimeSpan.Zero)
            throw new ArgumentException($"The retention must be positive, got {Retention}.", nameof(Retention));
        if (Capacity < 1)
            throw new ArgumentException($"The capacity must be at least 1 point, got {Capacity}.", nameof(Capacity));
    }
}
