namespace IcosFl.Worker.Metrics;

/// <summary>How a node collects its own metrics (bound from configuration, section "Metrics").</summary>
public sealed record MetricsCollectionOptions
{
    /// <summary>Off where the node's data comes from elsewhere (imports, the simulation).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Seconds between samples (scrape-interval; ICOS-FL samples every 3 s).</summary>
    public double ScrapeInterval { get; init; } = 3;

    public string? FindProblem() =>
        double.IsFinite(ScrapeInterval) && ScrapeInterval > 0 ? null : $"scrape-interval must be a positive number of seconds, got {ScrapeInterval}";
}
