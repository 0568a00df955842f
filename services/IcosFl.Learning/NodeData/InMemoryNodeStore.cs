namespace IcosFl.Learning.NodeData;

/// <summary>A node store in memory (embedded mode and tests): capped series per metric, nothing persisted.</summary>
public sealed class InMemoryNodeStore : INodeStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, MetricSeries> _series = [];
    private readonly Dictionary<string, string> _unavailable = [];
    private readonly StoreLimits _limits;

    public InMemoryNodeStore(string node, StoreLimits? limits = null)
    {
        Node = NodeName.Require(node);
        _limits = limits ?? StoreLimits.Default;
        _limits.Validate();
    }

    public string Node { get; }

    public AppendResult Append(IReadOnlyList<MetricSample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        lock (_lock)
            return AppendLocked(samples, added: null);
    }

    /// <summary>Appends and reports which samples were new (for stores that persist them); call under the lock.</summary>
    internal AppendResult AppendLocked(IReadOnlyList<MetricSample> samples, List<MetricSample>? added)
    {
        foreach (var sample in samples)
            NodeStoreSamples.Check(sample);
        int addedCount = 0, held = 0, dropped = 0;
        foreach (var sample in samples)
        {
            var series = SeriesOf(sample.Metric);
            if (series.Add(sample.Timestamp.ToUnixTimeMilliseconds(), (float)sample.Value))
            {
                addedCount++;
                added?.Add(sample);
            }
            else
            {
                held++;
            }
        }

        foreach (var series in _series.Values)
            dropped += series.Trim();
        return new AppendResult(addedCount, held, dropped);
    }

    public void MarkUnavailable(string metric, string? reason)
    {
        NodeMetrics.Require(metric);
        lock (_lock)
        {
            if (reason is null)
                _unavailable.Remove(metric);
            else
                _unavailable[metric] = reason;
        }
    }

    internal IReadOnlyDictionary<string, string> UnavailableMarks
    {
        get
        {
            lock (_lock)
                return new Dictionary<string, string>(_unavailable);
        }
    }

    public IReadOnlyList<float>? GetSeries(string metric)
    {
        lock (_lock)
            return _series.TryGetValue(metric, out var series) && series.Count > 0 ? series.Values.ToArray() : null;
    }

    public string? UnavailableReason(string metric)
    {
        lock (_lock)
            return _series.TryGetValue(metric, out var series) && series.Count > 0 ? null : _unavailable.GetValueOrDefault(metric);
    }

    public IReadOnlyDictionary<string, int> DataPoints()
    {
        lock (_lock)
            return _series.Where(p => p.Value.Count > 0).ToDictionary(p => p.Key, p => p.Value.Count);
    }

    public (long[] TimesUnixMs, float[] Values) Points(string metric)
    {
        lock (_lock)
            return _series.TryGetValue(metric, out var s) ? (s.TimesUnixMs.ToArray(), s.Values.ToArray()) : ([], []);
    }

    public NodeDataSummary Summarise() => Summarise("memory");

    internal NodeDataSummary Summarise(string store)
    {
        lock (_lock)
        {
            var metrics = NodeMetrics.All
                .Where(m => _series.ContainsKey(m) || _unavailable.ContainsKey(m))
                .Select(m =>
                {
                    var s = _series.GetValueOrDefault(m);
                    return s is null || s.Count == 0
                        ? new MetricSummary(m, 0, null, null, null, _unavailable.GetValueOrDefault(m))
                        : new MetricSummary(m, s.Count,
                            DateTimeOffset.FromUnixTimeMilliseconds(s.TimesUnixMs[0]),
                            DateTimeOffset.FromUnixTimeMilliseconds(s.TimesUnixMs[^1]),
                            s.Values[^1], _unavailable.GetValueOrDefault(m));
                })
                .ToList();
            return new NodeDataSummary(Node, store, metrics);
        }
    }

    internal Lock SyncRoot => _lock;

    private MetricSeries SeriesOf(string metric)
    {
        if (!_series.TryGetValue(metric, out var series))
            _series[metric] = series = new MetricSeries(_limits);
        return series;
    }
}

/// <summary>Node names become folder names and Redis keys: letters, digits, '.', '_' and '-' only.</summary>
public static class NodeName
{
    public static string Require(string node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (node.Length == 0 || node.Length > 128 || node is "." or ".." || !node.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            throw new ArgumentException($"Node name '{node}' must be 1-128 characters of letters, digits, '.', '_' or '-' (and not '.' or '..').", nameof(node));
        return node;
    }
}
