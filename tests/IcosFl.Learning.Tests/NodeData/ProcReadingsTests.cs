using IcosFl.Learning.NodeData;

namespace IcosFl.Learning.Tests.NodeData;

/// <summary>The kernel-file parsers on fixture copies of this machine's /proc files (exact numbers) and on the live files.</summary>
public sealed class ProcReadingsTests
{
    private static string Fixture(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "proc", name));

    [Fact]
    public void Load_average_is_the_first_field_of_loadavg()
    {
        Assert.Equal(9.31, ProcReadings.LoadAverage1Min(Fixture("loadavg")));
    }

    [Fact]
    public void Cpu_times_count_idle_and_iowait_as_idle()
    {
        // cpu  263139 0 26634 109573 1202 0 336 351 0 0: total of the first 8 counters, idle = 109573 + 1202.
        var times = ProcReadings.CpuTimes(Fixture("stat"));
        Assert.Equal(401_235UL, times.Total);
        Assert.Equal(290_460UL, times.Busy);
    }

    [Fact]
    public void Utilisation_is_busy_ticks_over_elapsed_ticks()
    {
        var earlier = ProcReadings.CpuTimes("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n");
        var later = ProcReadings.CpuTimes("cpu  160 0 70 910 60 0 0 0 0 0\n");
        // busy +80 (user 60, system 20), total +200
        Assert.Equal(40.0, CpuTimes.UtilisationPercent(earlier, later));
        Assert.Null(CpuTimes.UtilisationPercent(later, earlier)); // counters went back: a reboot, no number
        Assert.Null(CpuTimes.UtilisationPercent(later, later)); // no tick elapsed
    }

    [Fact]
    public void Memory_used_is_total_minus_available_in_MiB()
    {
        // (24684092 - 23670980) kB / 1024
        Assert.Equal(989.3671875, ProcReadings.MemoryUsedMiB(Fixture("meminfo")));
    }

    [Fact]
    public void The_live_proc_files_of_this_machine_parse()
    {
        Assert.InRange(ProcReadings.LoadAverage1Min(File.ReadAllText("/proc/loadavg")), 0, 10_000);
        var times = ProcReadings.CpuTimes(File.ReadAllText("/proc/stat"));
        Assert.True(times.Total > times.Busy);
        double totalMiB = ulong.Parse(File.ReadAllLines("/proc/meminfo")[0].Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
        Assert.InRange(ProcReadings.MemoryUsedMiB(File.ReadAllText("/proc/meminfo")), 1, totalMiB);
    }

    [Theory]
    [InlineData("", "/proc/loadavg is empty.")]
    [InlineData("abc 1 2 3/4 5", "/proc/loadavg: the 1-minute load average 'abc' is not a non-negative number.")]
    public void A_bad_loadavg_is_named(string text, string message)
    {
        Assert.Equal(message, Assert.Throws<FormatException>(() => ProcReadings.LoadAverage1Min(text)).Message);
    }

    [Theory]
    [InlineData("cpu0 1 2 3 4\n", "/proc/stat has no aggregate 'cpu ' line.")]
    [InlineData("cpu  1 2 3\n", "/proc/stat: the 'cpu' line has 3 counters, at least 4 (user nice system idle) are needed.")]
    [InlineData("cpu  1 2 x 4\n", "/proc/stat: counter 3 of the 'cpu' line, 'x', is not a tick count.")]
    public void A_bad_stat_is_named(string text, string message)
    {
        Assert.Equal(message, Assert.Throws<FormatException>(() => ProcReadings.CpuTimes(text)).Message);
    }

    [Theory]
    [InlineData("MemFree: 5 kB\nMemAvailable: 10 kB\n", "/proc/meminfo has no MemTotal line.")]
    [InlineData("MemTotal: 100 kB\nMemFree: 5 kB\n", "/proc/meminfo has no MemAvailable line (kernels before 3.14 lack it).")]
    [InlineData("MemTotal: 100 kB\nMemAvailable: 200 kB\n", "/proc/meminfo: MemAvailable 200 kB exceeds MemTotal 100 kB.")]
    [InlineData("MemTotal: 100 MB\nMemAvailable: 20 kB\n", "/proc/meminfo: 'MemTotal: 100 MB' is not in kB.")]
    public void A_bad_meminfo_is_named(string text, string message)
    {
        Assert.Equal(message, Assert.Throws<FormatException>(() => ProcReadings.MemoryUsedMiB(text)).Message);
    }

    [Fact]
    public void Energy_deltas_count_one_wrap_around()
    {
        Assert.Equal(3_000_000UL, ProcReadings.EnergyDeltaMicrojoules(1_000_000, 4_000_000, 262_143_328_850));
        // 10,000,000 uJ range: 7,000,000 -> wraps -> 2,000,000 is 3,000,000 + 2,000,000.
        Assert.Equal(5_000_000UL, ProcReadings.EnergyDeltaMicrojoules(7_000_000, 2_000_000, 10_000_000));
        Assert.Throws<ArgumentOutOfRangeException>(() => ProcReadings.EnergyDeltaMicrojoules(11_000_000, 2_000_000, 10_000_000));
        Assert.Equal(2.5, ProcReadings.Watts(7_500_000, TimeSpan.FromSeconds(3)));
        Assert.Throws<ArgumentOutOfRangeException>(() => ProcReadings.Watts(1, TimeSpan.Zero));
        Assert.Equal("/x/energy_uj: 'n/a' is not a microjoule count.",
            Assert.Throws<FormatException>(() => ProcReadings.RaplCounter("n/a\n", "/x/energy_uj")).Message);
    }
}
