using IcosFl.Contracts;

namespace IcosFl.Learning.NodeData;

/// <summary>cpu_usage as ICOS-FL measures it: the 1-minute load average from /proc/loadavg.</summary>
public sealed class LoadAverageSource(string path = "/proc/loadavg") : IMetricSource
{
    public IReadOnlyList<string> Metrics { get; } = [IcosFl.Contracts.Metrics.CpuUsage];

    public string? Unavailable => File.Exists(path) ? null : $"{path} does not exist";

    public IReadOnlyList<MetricSample> Read(DateTimeOffset now) =>
        [new(IcosFl.Contracts.Metrics.CpuUsage, now, ProcReadings.LoadAverage1Min(File.ReadAllText(path)))];
}

/// <summary>CPU utilisation in % between two reads of /proc/stat (the first read only remembers the counters).</summary>
public sealed class CpuUtilisationSource(string path = "/proc/stat") : IMetricSource
{
    private CpuTimes? _previous;

    public IReadOnlyList<string> Metrics { get; } = [NodeMetrics.CpuUtilisation];

    public string? Unavailable => File.Exists(path) ? null : $"{path} does not exist";

    public IReadOnlyList<MetricSample> Read(DateTimeOffset now)
    {
        var current = ProcReadings.CpuTimes(File.ReadAllText(path));
        var previous = _previous;
        _previous = current;
        return previous is { } p && CpuTimes.UtilisationPercent(p, current) is { } percent
            ? [new MetricSample(NodeMetrics.CpuUtilisation, now, percent)]
            : [];
    }
}

/// <summary>memory_usage as ICOS-FL measures it: MiB in use (MemTotal - MemAvailable) from /proc/meminfo.</summary>
public sealed class MemorySource(string path = "/proc/meminfo") : IMetricSource
{
    public IReadOnlyList<string> Metrics { get; } = [IcosFl.Contracts.Metrics.MemoryUsage];

    public string? Unavailable => File.Exists(path) ? null : $"{path} does not exist";

    public IReadOnlyList<MetricSample> Read(DateTimeOffset now) =>
        [new(IcosFl.Contracts.Metrics.MemoryUsage, now, ProcReadings.MemoryUsedMiB(File.ReadAllText(path)))];
}

/// <summary>
/// power_consumption in watts from Intel RAPL: the energy_uj counters of every package domain
/// (/sys/class/powercap/intel-rapl:N, not their sub-zones, which the package already contains), differenced
/// between reads, wrap-around included. Where RAPL is absent (most VMs) the source says so and yields nothing:
/// no estimated or invented watts.
/// </summary>
public sealed class RaplPowerSource : IMetricSource
{
    private readonly IReadOnlyList<string> _domains;
    private (ulong[] Energy, DateTimeOffset At)? _previous;

    public RaplPowerSource(string powercapDirectory = "/sys/class/powercap")
    {
        _domains = Directory.Exists(powercapDirectory)
            ? Directory.GetDirectories(powercapDirectory)
                .Where(d => IsPackageDomain(Path.GetFileName(d)) && File.Exists(Path.Combine(d, "energy_uj")))
                .Order(StringComparer.Ordinal)
                .ToList()
            : [];
        Unavailable = _domains.Count > 0
            ? null
            : Directory.Exists(powercapDirectory)
                ? $"no Intel RAPL package domain with energy_uj under {powercapDirectory}"
                : $"no Intel RAPL on this machine ({powercapDirectory} does not exist; virtual machines rarely expose it)";
    }

    public IReadOnlyList<string> Metrics { get; } = [IcosFl.Contracts.Metrics.PowerConsumption];

    public string? Unavailable { get; }

    public IReadOnlyList<MetricSample> Read(DateTimeOffset now)
    {
        if (Unavailable is not null)
            return [];
        var energy = _domains.Select(d => ReadCounter(d, "energy_uj")).ToArray();
        var previous = _previous;
        _previous = (energy, now);
        if (previous is not { } p || now <= p.At)
            return [];
        ulong microjoules = 0;
        for (int i = 0; i < energy.Length; i++)
            microjoules += ProcReadings.EnergyDeltaMicrojoules(p.Energy[i], energy[i], ReadCounter(_domains[i], "max_energy_range_uj"));
        return [new MetricSample(IcosFl.Contracts.Metrics.PowerConsumption, now, ProcReadings.Watts(microjoules, now - p.At))];
    }

    // intel-rapl:0 is a package; intel-rapl:0:0 (core, uncore, dram) is a part of it.
    private static bool IsPackageDomain(string name) =>
        name.StartsWith("intel-rapl:", StringComparison.Ordinal) && name.Count(c => c == ':') == 1;

    private static ulong ReadCounter(string domain, string file)
    {
        var path = Path.Combine(domain, file);
        return ProcReadings.RaplCounter(File.ReadAllText(path), path);
    }
}
