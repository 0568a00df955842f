namespace IcosFl.Learning.NodeData;

/// <summary>A source whose read failed during a scrape, and why.</summary>
public sealed record SourceFailure(string Source, string Problem);

/// <summary>What one scrape stored and what failed.</summary>
public sealed record ScrapeResult(IReadOnlyList<MetricSample> Samples, AppendResult Stored, IReadOnlyList<SourceFailure> Failures);

/// <summary>
/// Samples its sources into a node store, once per <see cref="Scrape"/> (the hosted service calls it every
/// scrape-interval). A source that cannot work on this machine is noted in the store as unavailable (and
/// training on that metric is refused with its reason); a source whose read fails is reported and the others still count.
/// </summary>
public sealed class MetricsCollector
{
    private readonly IReadOnlyList<IMetricSource> _sources;
    private readonly INodeStore _store;

    public MetricsCollector(IEnumerable<IMetricSource> sources, INodeStore store)
    {
        ArgumentNullException.ThrowIfNull(sources);
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _sources = sources.ToList();
        foreach (var source in _sources)
        {
            foreach (var metric in source.Metrics)
                _store.MarkUnavailable(metric, source.Unavailable);
        }
    }

    /// <summary>The sources of a Linux node: load average, CPU %, memory, and RAPL power where it exists.</summary>
    public static IReadOnlyList<IMetricSource> LinuxSources(string procDirectory = "/proc", string powercapDirectory = "/sys/class/powercap") =>
    [
        new LoadAverageSource(Path.Combine(procDirectory, "loadavg")),
        new CpuUtilisationSource(Path.Combine(procDirectory, "stat")),
        new MemorySource(Path.Combine(procDirectory, "meminfo")),
        new RaplPowerSource(powercapDirectory),
    ];

    public IReadOnlyList<IMetricSource> Sources => _sources;

    public ScrapeResult Scrape(DateTimeOffset now)
    {
        var samples = new List<MetricSample>();
        var failures = new List<SourceFailure>();
        foreach (var source in _sources)
        {
            if (source.Unavailable is not null)
                continue;
            try
            {
                samples.AddRange(source.Read(now));
            }
            catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException or ArgumentException)
            {
                failures.Add(new SourceFailure(source.GetType().Name, e.Message));
            }
        }

        return new ScrapeResult(samples, _store.Append(samples), failures);
    }
}
