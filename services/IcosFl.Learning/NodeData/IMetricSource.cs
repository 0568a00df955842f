namespace IcosFl.Learning.NodeData;

/// <summary>
/// Something the collector samples every scrape interval: a kernel file, a RAPL counter, a replayed file.
/// Sources that compute rates (CPU %, watts) return nothing on their first read and a value per read after.
/// </summary>
public interface IMetricSource
{
    /// <summary>The metrics this source yields.</summary>
    IReadOnlyList<string> Metrics { get; }

    /// <summary>Why this source cannot yield anything on this machine (e.g. no RAPL), or null when it can.</summary>
    string? Unavailable { get; }

    /// <summary>Reads the source now; throws (IOException, FormatException) when a reading fails.</summary>
    IReadOnlyList<MetricSample> Read(DateTimeOffset now);
}
