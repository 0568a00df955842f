using IcosFl.Contracts;
using IcosFl.Learning.NodeData;
using IcosFl.TestKit;

namespace IcosFl.Learning.Tests.NodeData;

public sealed class MetricsCollectorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    private static string FixtureProc => Path.Combine(AppContext.BaseDirectory, "Fixtures", "proc");

    [Fact]
    public void Scrapes_the_fixture_proc_files_and_marks_power_unavailable_without_RAPL()
    {
        using var dir = new TemporaryDirectory();
        foreach (var name in new[] { "loadavg", "stat", "meminfo" })
            File.Copy(Path.Combine(FixtureProc, name), Path.Combine(dir.Path, name));
        var store = new InMemoryNodeStore("node-a");
        var collector = new MetricsCollector(MetricsCollector.LinuxSources(dir.Path, Path.Combine(dir.Path, "no-powercap")), store);

        var first = collector.Scrape(T0);
        Assert.Empty(first.Failures);
        Assert.Equal([9.31f], store.GetSeries(Metrics.CpuUsage));
        Assert.Equal([989.3671875f], store.GetSeries(Metrics.MemoryUsage));
        Assert.Null(store.GetSeries(NodeMetrics.CpuUtilisation)); // a rate needs two readings

        // 100 more busy ticks and 300 more idle ones: 25 %.
        dir.Write("stat", "cpu  263239 0 26634 109873 1202 0 336 351 0 0\n");
        collector.Scrape(T0.AddSeconds(3));
        Assert.Equal([25f], store.GetSeries(NodeMetrics.CpuUtilisation));

        Assert.Null(store.GetSeries(Metrics.PowerConsumption));
        Assert.Equal($"no Intel RAPL on this machine ({Path.Combine(dir.Path, "no-powercap")} does not exist; virtual machines rarely expose it)",
            store.UnavailableReason(Metrics.PowerConsumption));
        var power = store.Summarise().Metrics.Single(m => m.Metric == Metrics.PowerConsumption);
        Assert.Equal(0, power.Points);
    }

    [Fact]
    public void RAPL_packages_are_summed_their_sub_zones_left_out_and_a_wrap_counted()
    {
        using var dir = new TemporaryDirectory();
        dir.Write("intel-rapl:0/energy_uj", "7000000\n");
        dir.Write("intel-rapl:0/max_energy_range_uj", "10000000\n");
        dir.Write("intel-rapl:0/intel-rapl:0:0/energy_uj", "5\n"); // core: already inside package 0
        dir.Write("intel-rapl:0:0/energy_uj", "5\n"); // a sub-zone listed flat, as sysfs also does
        dir.Write("intel-rapl:1/energy_uj", "3500000\n");
        dir.Write("intel-rapl:1/max_energy_range_uj", "262143328850\n");
        var source = new RaplPowerSource(dir.Path);
        Assert.Null(source.Unavailable);

        Assert.Empty(source.Read(T0));
        dir.Write("intel-rapl:0/energy_uj", "9000000\n");
        dir.Write("intel-rapl:0:0/energy_uj", "999999999\n");
        dir.Write("intel-rapl:1/energy_uj", "4500000\n");
        // (2,000,000 + 1,000,000) uJ in 3 s
        Assert.Equal(1.0, Assert.Single(source.Read(T0.AddSeconds(3))).Value);

        dir.Write("intel-rapl:0/energy_uj", "1000000\n"); // wrapped: 9,000,000 -> 10,000,000 -> 1,000,000
        dir.Write("intel-rapl:1/energy_uj", "7500000\n");
        // (2,000,000 + 3,000,000) uJ in 2 s
        var sample = Assert.Single(source.Read(T0.AddSeconds(5)));
        Assert.Equal(new MetricSample(Metrics.PowerConsumption, T0.AddSeconds(5), 2.5), sample);
    }

    [Fact]
    public void This_machine_has_no_RAPL_and_says_so_and_its_proc_files_are_collected()
    {
        var store = new InMemoryNodeStore("this-machine");
        var collector = new MetricsCollector(MetricsCollector.LinuxSources(), store);
        var now = DateTimeOffset.UtcNow;
        collector.Scrape(now);
        var second = collector.Scrape(now.AddSeconds(3));
        Assert.Empty(second.Failures);
        Assert.Equal(2, store.GetSeries(Metrics.CpuUsage)!.Count);
        Assert.Equal(2, store.GetSeries(Metrics.MemoryUsage)!.Count);
        // Two reads of /proc/stat a moment apart may see no tick on an idle machine; then no number is invented.
        Assert.InRange(store.GetSeries(NodeMetrics.CpuUtilisation)?.Count ?? 0, 0, 1);
        Assert.All(store.GetSeries(NodeMetrics.CpuUtilisation) ?? [], v => Assert.InRange(v, 0, 100));
        if (!Directory.Exists("/sys/class/powercap"))
        {
            Assert.Null(store.GetSeries(Metrics.PowerConsumption));
            Assert.StartsWith("no Intel RAPL on this machine", store.UnavailableReason(Metrics.PowerConsumption));
        }
    }

    [Fact]
    public void A_failing_source_is_reported_and_the_others_still_stored()
    {
        using var dir = new TemporaryDirectory();
        File.Copy(Path.Combine(FixtureProc, "meminfo"), Path.Combine(dir.Path, "meminfo"));
        var loadavg = dir.Write("loadavg", "garbage\n");
        var store = new InMemoryNodeStore("node-a");
        var collector = new MetricsCollector([new LoadAverageSource(loadavg), new MemorySource(Path.Combine(dir.Path, "meminfo"))], store);

        var result = collector.Scrape(T0);

        var failure = Assert.Single(result.Failures);
        Assert.Equal(new SourceFailure("LoadAverageSource", "/proc/loadavg: the 1-minute load average 'garbage' is not a non-negative number."), failure);
        Assert.Equal(1, result.Stored.Added);
        Assert.Equal([989.3671875f], store.GetSeries(Metrics.MemoryUsage));
    }

    [Fact]
    public void A_replayed_file_feeds_the_store_one_row_per_scrape()
    {
        var csv = NodeDataCsv.Read(new StringReader(
            "timestamp,cpu_usage,power_consumption\n1795860000,0.5,80\n1795860003,0.75,\n1795860006,1.0,82.5\n"));
        var source = new ReplaySource(csv);
        var store = new InMemoryNodeStore("replayed");
        var collector = new MetricsCollector([source], store);
        for (int i = 0; i < 4; i++)
            collector.Scrape(T0.AddSeconds(3 * i));

        Assert.True(source.Exhausted);
        Assert.Equal([0.5f, 0.75f, 1.0f], store.GetSeries(Metrics.CpuUsage));
        Assert.Equal([80f, 82.5f], store.GetSeries(Metrics.PowerConsumption));
        Assert.Equal(T0.AddSeconds(6), store.Summarise().Metrics.Single(m => m.Metric == Metrics.CpuUsage).Last);
    }
}
