using System.Globalization;

namespace IcosFl.Learning.NodeData;

/// <summary>Cumulative CPU time from the aggregate "cpu" line of /proc/stat, in clock ticks.</summary>
public readonly record struct CpuTimes(ulong Busy, ulong Total)
{
    /// <summary>
    /// Utilisation in % between two readings: busy ticks over all ticks elapsed. Null when no tick elapsed
    /// or the counters went backwards (a reboot between readings): there is no honest number then.
    /// </summary>
    public static double? UtilisationPercent(CpuTimes earlier, CpuTimes later)
    {
        if (later.Total <= earlier.Total || later.Busy < earlier.Busy)
            return null;
        return 100.0 * (later.Busy - earlier.Busy) / (later.Total - earlier.Total);
    }
}

/// <summary>
/// Pure parsers of the kernel's text files the collector reads (/proc/loadavg, /proc/stat, /proc/meminfo)
/// and of Intel RAPL energy counters; every malformed input is a <see cref="FormatException"/> naming the file and the problem.
/// </summary>
public static class ProcReadings
{
    /// <summary>The 1-minute load average (the first field of /proc/loadavg), ICOS-FL's cpu_usage.</summary>
    public static double LoadAverage1Min(string loadavg)
    {
        ArgumentNullException.ThrowIfNull(loadavg);
        var fields = loadavg.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length == 0)
            throw new FormatException("/proc/loadavg is empty.");
        if (!double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var load) || !double.IsFinite(load) || load < 0)
            throw new FormatException($"/proc/loadavg: the 1-minute load average '{fields[0]}' is not a non-negative number.");
        return load;
    }

    /// <summary>
    /// Busy and total ticks of the "cpu" line of /proc/stat (user nice system idle iowait irq softirq steal ...).
    /// Idle time is idle + iowait; guest and guest_nice are already inside user and nice, so they are not added twice.
    /// </summary>
    public static CpuTimes CpuTimes(string stat)
    {
        ArgumentNullException.ThrowIfNull(stat);
        var line = stat.Split('\n').FirstOrDefault(l => l.StartsWith("cpu ", StringComparison.Ordinal))
            ?? throw new FormatException("/proc/stat has no aggregate 'cpu ' line.");
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToArray();
        if (fields.Length < 4)
            throw new FormatException($"/proc/stat: the 'cpu' line has {fields.Length} counters, at least 4 (user nice system idle) are needed.");
        var ticks = new ulong[Math.Min(fields.Length, 8)];
        for (int i = 0; i < ticks.Length; i++)
        {
            if (!ulong.TryParse(fields[i], NumberStyles.None, CultureInfo.InvariantCulture, out ticks[i]))
                throw new FormatException($"/proc/stat: counter {i + 1} of the 'cpu' line, '{fields[i]}', is not a tick count.");
        }

        ulong idle = ticks[3] + (ticks.Length > 4 ? ticks[4] : 0);
        ulong total = 0;
        foreach (var t in ticks)
            total += t;
        return new CpuTimes(total - idle, total);
    }

    /// <summary>Used memory in MiB: MemTotal - MemAvailable (both in kB in /proc/meminfo), ICOS-FL's memory_usage.</summary>
    public static double MemoryUsedMiB(string meminfo)
    {
        ArgumentNullException.ThrowIfNull(meminfo);
        ulong? total = null, available = null;
        foreach (var line in meminfo.Split('\n'))
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                total = Kilobytes(line);
            else if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                available = Kilobytes(line);
        }

        if (total is null)
            throw new FormatException("/proc/meminfo has no MemTotal line.");
        if (available is null)
            throw new FormatException("/proc/meminfo has no MemAvailable line (kernels before 3.14 lack it).");
        if (available > total)
            throw new FormatException($"/proc/meminfo: MemAvailable {available} kB exceeds MemTotal {total} kB.");
        return (total.Value - available.Value) / 1024.0;
    }

    /// <summary>
    /// Microjoules consumed between two readings of a RAPL energy_uj counter, which wraps to 0 after
    /// max_energy_range_uj: a later reading below the earlier one means the counter went round once
    /// (max - earlier + later, as turbostat and powercap readers count it; off by at most one counter unit).
    /// </summary>
    public static ulong EnergyDeltaMicrojoules(ulong earlier, ulong later, ulong maxEnergyRangeUj)
    {
        if (earlier > maxEnergyRangeUj || later > maxEnergyRangeUj)
            throw new ArgumentOutOfRangeException(nameof(maxEnergyRangeUj),
                $"RAPL readings {earlier} and {later} uJ must not exceed max_energy_range_uj {maxEnergyRangeUj}.");
        return later >= earlier ? later - earlier : maxEnergyRangeUj - earlier + later;
    }

    /// <summary>Average watts over an interval from the microjoules consumed in it.</summary>
    public static double Watts(ulong microjoules, TimeSpan elapsed)
    {
        if (elapsed <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(elapsed), elapsed, "The interval between RAPL readings must be positive.");
        return microjoules / 1e6 / elapsed.TotalSeconds;
    }

    /// <summary>A RAPL sysfs value (energy_uj, max_energy_range_uj): one unsigned integer and a newline.</summary>
    public static ulong RaplCounter(string text, string file)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!ulong.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            throw new FormatException($"{file}: '{text.Trim()}' is not a microjoule count.");
        return value;
    }

    private static ulong Kilobytes(string line)
    {
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 2 || !ulong.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var kb))
            throw new FormatException($"/proc/meminfo: '{line.Trim()}' does not hold a kB count.");
        if (fields.Length > 2 && fields[2] != "kB")
            throw new FormatException($"/proc/meminfo: '{line.Trim()}' is not in kB.");
        return kb;
    }
}
