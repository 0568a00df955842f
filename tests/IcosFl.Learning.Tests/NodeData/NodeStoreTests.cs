using IcosFl.Contracts;
using IcosFl.Learning.NodeData;

namespace IcosFl.Learning.Tests.NodeData;

public sealed class NodeStoreTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    private static MetricSample Cpu(int second, double value) => new(Metrics.CpuUsage, T0.AddSeconds(second), value);

    [Fact]
    public void Retention_keeps_the_span_back_from_the_newest_point()
    {
        var store = new InMemoryNodeStore("n", new StoreLimits(TimeSpan.FromSeconds(10), 1000));
        var result = store.Append(Enumerable.Range(0, 21).Select(s => Cpu(s, s)).ToList());

        Assert.Equal(new AppendResult(21, 0, 10), result);
        Assert.Equal(Enumerable.Range(10, 11).Select(v => (float)v), store.GetSeries(Metrics.CpuUsage)!);
    }

    [Fact]
    public void Capacity_keeps_the_newest_points()
    {
        var store = new InMemoryNodeStore("n", new StoreLimits(TimeSpan.FromDays(1), 5));
        store.Append(Enumerable.Range(0, 8).Select(s => Cpu(s, s)).ToList());
        Assert.Equal([3f, 4f, 5f, 6f, 7f], store.GetSeries(Metrics.CpuUsage));
    }

    [Fact]
    public void Points_are_kept_in_time_order_and_a_held_timestamp_is_not_overwritten()
    {
        var store = new InMemoryNodeStore("n");
        store.Append([Cpu(6, 6), Cpu(0, 0)]);
        var result = store.Append([Cpu(3, 3), Cpu(6, 99)]);

        Assert.Equal(new AppendResult(1, 1, 0), result);
        Assert.Equal([0f, 3f, 6f], store.GetSeries(Metrics.CpuUsage));
    }

    [Fact]
    public void Bad_samples_and_names_are_refused_with_the_reason()
    {
        var store = new InMemoryNodeStore("n");
        Assert.Equal("Unknown metric 'disk'; known metrics: cpu_usage, memory_usage, power_consumption, cpu_utilisation. (Parameter 'metric')",
            Assert.Throws<ArgumentException>(() => store.Append([new MetricSample("disk", T0, 1)])).Message);
        Assert.StartsWith("cpu_usage at 2026-11-28T10:00:00.0000000+00:00 is NaN",
            Assert.Throws<ArgumentException>(() => store.Append([Cpu(0, double.NaN)])).Message);
        Assert.StartsWith("Node name '../x' must be",
            Assert.Throws<ArgumentException>(() => new InMemoryNodeStore("../x")).Message);
        Assert.Throws<ArgumentException>(() => new InMemoryNodeStore("n", new StoreLimits(TimeSpan.Zero, 10)));
    }

    [Fact]
    public void Points_beat_an_unavailable_mark()
    {
        var store = new InMemoryNodeStore("n");
        store.MarkUnavailable(Metrics.PowerConsumption, "no RAPL");
        Assert.Equal("no RAPL", store.UnavailableReason(Metrics.PowerConsumption));
        store.Append([new MetricSample(Metrics.PowerConsumption, T0, 90)]);
        Assert.Null(store.UnavailableReason(Metrics.PowerConsumption));
        Assert.Equal([90f], store.GetSeries(Metrics.PowerConsumption));
    }

    [Fact]
    public void The_file_store_reopens_with_what_was_appended_and_the_marks()
    {
        using var dir = new TemporaryDirectory();
        var store = new FileNodeStore(dir.Path, "edge-1");
        store.Append([Cpu(0, 0.25), Cpu(3, 0.5), new MetricSample(Metrics.MemoryUsage, T0, 2048.5)]);
        store.MarkUnavailable(Metrics.PowerConsumption, "no RAPL here");
        store.Append([Cpu(6, 0.75)]);

        var reopened = new FileNodeStore(dir.Path, "edge-1");
        Assert.Equal([0.25f, 0.5f, 0.75f], reopened.GetSeries(Metrics.CpuUsage));
        Assert.Equal([2048.5f], reopened.GetSeries(Metrics.MemoryUsage));
        Assert.Equal("no RAPL here", reopened.UnavailableReason(Metrics.PowerConsumption));
        Assert.Equal("1795860000000,0.25\n1795860003000,0.5\n1795860006000,0.75\n",
            File.ReadAllText(Path.Combine(dir.Path, "edge-1", "cpu_usage.csv")));
    }

    [Fact]
    public void A_torn_last_line_is_dropped_and_a_damaged_line_is_named()
    {
        using var dir = new TemporaryDirectory();
        var file = dir.Write("edge-1/cpu_usage.csv", "1795860000000,0.25\n1795860003000,0.5\n17958600");
        var store = new FileNodeStore(dir.Path, "edge-1");
        Assert.Equal([0.25f, 0.5f], store.GetSeries(Metrics.CpuUsage));
        store.Append([Cpu(6, 0.75)]);
        Assert.Equal("1795860000000,0.25\n1795860003000,0.5\n1795860006000,0.75\n", File.ReadAllText(file));

        dir.Write("edge-2/memory_usage.csv", "1795860000000,1\nnot a line\n1795860006000,3\n");
        Assert.Equal($"{Path.Combine(dir.Path, "edge-2", "memory_usage.csv")} line 2: 'not a line' is not 'unix_ms,value'.",
            Assert.Throws<FormatException>(() => new FileNodeStore(dir.Path, "edge-2")).Message);
    }

    [Fact]
    public void The_file_is_compacted_once_most_of_it_expired()
    {
        using var dir = new TemporaryDirectory();
        var store = new FileNodeStore(dir.Path, "edge-1", new StoreLimits(TimeSpan.FromSeconds(9), 1000));
        for (int s = 0; s < 100; s += 3)
            store.Append([Cpu(s, s)]);

        // Points 90..99 s are within 9 s of the newest (99): 90, 93, 96, 99.
        Assert.Equal([90f, 93f, 96f, 99f], store.GetSeries(Metrics.CpuUsage));
        int lines = File.ReadAllLines(Path.Combine(dir.Path, "edge-1", "cpu_usage.csv")).Length;
        Assert.InRange(lines, 4, 8);
        Assert.Equal([90f, 93f, 96f, 99f], new FileNodeStore(dir.Path, "edge-1", new StoreLimits(TimeSpan.FromSeconds(9), 1000)).GetSeries(Metrics.CpuUsage));
    }
}
