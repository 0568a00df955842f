using IcosFl.Contracts;
using IcosFl.Learning.NodeData;
using IcosFl.TestKit;
using IcosFl.TestKit.NodeData;

namespace IcosFl.Learning.Tests.NodeData;

/// <summary>What only the file store does: its file layout, torn lines, compaction (the shared behaviour is in <see cref="NodeStoreContract"/>).</summary>
public sealed class FileNodeStoreTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    private static MetricSample Cpu(int second, double value) => new(Metrics.CpuUsage, T0.AddSeconds(second), value);

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
