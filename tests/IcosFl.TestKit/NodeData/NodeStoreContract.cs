using IcosFl.Contracts;
using IcosFl.Learning.NodeData;
using Xunit;

namespace IcosFl.TestKit.NodeData;

/// <summary>
/// What every node store promises (memory, file, Redis): the same points kept, the same counts reported, the same
/// refusals. Each store's test class derives from this one; the Redis one lives in the integration tests (real Redis).
/// </summary>
public abstract class NodeStoreContract : IDisposable
{
    protected static readonly DateTimeOffset T0 = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    /// <summary>A node name of this test's own, so stores sharing a folder or a Redis never meet.</summary>
    protected string NodeName { get; } = "node-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Opens (or reopens) the store of <paramref name="node"/>.</summary>
    protected abstract INodeStore Open(string node, StoreLimits? limits = null);

    /// <summary>Whether a reopened store still holds what was appended (file and Redis; not memory).</summary>
    protected abstract bool Persists { get; }

    /// <summary>How <see cref="NodeDataSummary.Store"/> starts: "memory", "file ", "redis ".</summary>
    protected abstract string StoreKind { get; }

    protected static MetricSample Cpu(int second, double value) => new(Metrics.CpuUsage, T0.AddSeconds(second), value);

    public virtual void Dispose() => GC.SuppressFinalize(this);

    [Fact]
    public void Retention_keeps_the_span_back_from_the_newest_point()
    {
        var store = Open(NodeName, new StoreLimits(TimeSpan.FromSeconds(10), 1000));
        var result = store.Append(Enumerable.Range(0, 21).Select(s => Cpu(s, s)).ToList());

        Assert.Equal(new AppendResult(21, 0, 10), result);
        Assert.Equal(Enumerable.Range(10, 11).Select(v => (float)v), store.GetSeries(Metrics.CpuUsage)!);
    }

    [Fact]
    public void Capacity_keeps_the_newest_points()
    {
        var store = Open(NodeName, new StoreLimits(TimeSpan.FromDays(1), 5));
        Assert.Equal(new AppendResult(8, 0, 3), store.Append(Enumerable.Range(0, 8).Select(s => Cpu(s, s)).ToList()));
        Assert.Equal([3f, 4f, 5f, 6f, 7f], store.GetSeries(Metrics.CpuUsage));
    }

    [Fact]
    public void Points_are_kept_in_time_order_and_a_held_timestamp_is_not_overwritten()
    {
        var store = Open(NodeName);
        store.Append([Cpu(6, 6), Cpu(0, 0)]);
        var result = store.Append([Cpu(3, 3), Cpu(6, 99)]);

        Assert.Equal(new AppendResult(1, 1, 0), result);
        Assert.Equal([0f, 3f, 6f], store.GetSeries(Metrics.CpuUsage));
        var (times, values) = store.Points(Metrics.CpuUsage);
        Assert.Equal([1795860000000L, 1795860003000L, 1795860006000L], times);
        Assert.Equal([0f, 3f, 6f], values);
    }

    [Fact]
    public void An_import_overlapping_held_points_adds_only_the_new_ones_and_loses_nothing()
    {
        var store = Open(NodeName);
        store.Append([Cpu(0, 0.5), Cpu(3, 0.25)]);
        var csv = NodeDataCsv.Read(new StringReader(
            "timestamp,cpu_usage,memory_usage\n2026-11-28T10:00:03Z,9,100\n2026-11-28T10:00:06Z,0.75,200\n2026-11-28T10:00:09Z,,300\n"));

        Assert.Equal(new AppendResult(4, 1, 0), store.Append(csv.Samples));
        Assert.Equal([0.5f, 0.25f, 0.75f], store.GetSeries(Metrics.CpuUsage));
        Assert.Equal([100f, 200f, 300f], store.GetSeries(Metrics.MemoryUsage));
        Assert.Equal(new Dictionary<string, int> { [Metrics.CpuUsage] = 3, [Metrics.MemoryUsage] = 3 }, store.DataPoints());
    }

    [Fact]
    public void A_refused_batch_stores_nothing_and_says_why()
    {
        var store = Open(NodeName);
        Assert.Equal("Unknown metric 'disk'; known metrics: cpu_usage, memory_usage, power_consumption, cpu_utilisation. (Parameter 'metric')",
            Assert.Throws<ArgumentException>(() => store.Append([Cpu(0, 1), new MetricSample("disk", T0, 1)])).Message);
        Assert.StartsWith("cpu_usage at 2026-11-28T10:00:03.0000000+00:00 is NaN; only finite values are stored.",
            Assert.Throws<ArgumentException>(() => store.Append([Cpu(0, 1), Cpu(3, double.NaN)])).Message);
        // Finite as a double, infinite as the float32 a store keeps.
        Assert.StartsWith("cpu_usage at 2026-11-28T10:00:03.0000000+00:00 is 1E+39, beyond the float32 range",
            Assert.Throws<ArgumentException>(() => store.Append([Cpu(0, 1), Cpu(3, 1e39)])).Message);
        Assert.Null(store.GetSeries(Metrics.CpuUsage));
        Assert.Empty(store.DataPoints());
        Assert.StartsWith("Node name '../x' must be", Assert.Throws<ArgumentException>(() => Open("../x")).Message);
        Assert.StartsWith("The retention must be positive",
            Assert.Throws<ArgumentException>(() => Open(NodeName, new StoreLimits(TimeSpan.Zero, 10))).Message);
    }

    [Fact]
    public void Points_beat_an_unavailable_mark_and_a_null_reason_clears_it()
    {
        var store = Open(NodeName);
        store.MarkUnavailable(Metrics.PowerConsumption, "no RAPL");
        store.MarkUnavailable(NodeMetrics.CpuUtilisation, "no /proc/stat");
        Assert.Equal("no RAPL", store.UnavailableReason(Metrics.PowerConsumption));
        Assert.Null(store.GetSeries(Metrics.PowerConsumption));

        store.Append([new MetricSample(Metrics.PowerConsumption, T0, 90)]);
        store.MarkUnavailable(NodeMetrics.CpuUtilisation, null);

        Assert.Null(store.UnavailableReason(Metrics.PowerConsumption));
        Assert.Null(store.UnavailableReason(NodeMetrics.CpuUtilisation));
        Assert.Equal([90f], store.GetSeries(Metrics.PowerConsumption));
    }

    [Fact]
    public void The_summary_names_points_range_last_value_and_unavailable_metrics()
    {
        var store = Open(NodeName);
        store.Append([Cpu(3, 0.5), Cpu(0, 0.25), new MetricSample(Metrics.MemoryUsage, T0.AddSeconds(1), 2048.5)]);
        store.MarkUnavailable(Metrics.PowerConsumption, "no Intel RAPL on this machine");

        var summary = store.Summarise();

        Assert.Equal(NodeName, summary.Node);
        Assert.StartsWith(StoreKind, summary.Store);
        Assert.Equal(
            [
                new MetricSummary(Metrics.CpuUsage, 2, T0, T0.AddSeconds(3), 0.5, null),
                new MetricSummary(Metrics.MemoryUsage, 1, T0.AddSeconds(1), T0.AddSeconds(1), 2048.5, null),
                new MetricSummary(Metrics.PowerConsumption, 0, null, null, null, "no Intel RAPL on this machine"),
            ],
            summary.Metrics);
    }

    [Fact]
    public void A_reopened_store_holds_what_was_appended_and_the_marks_trimmed_to_its_new_limits()
    {
        if (!Persists)
            return;
        var store = Open(NodeName);
        store.Append(Enumerable.Range(0, 21).Select(s => Cpu(s, s / 4.0)).ToList());
        store.MarkUnavailable(Metrics.PowerConsumption, "no RAPL here");

        var reopened = Open(NodeName);
        Assert.Equal(Enumerable.Range(0, 21).Select(s => s / 4f), reopened.GetSeries(Metrics.CpuUsage)!);
        Assert.Equal("no RAPL here", reopened.UnavailableReason(Metrics.PowerConsumption));

        var narrower = Open(NodeName, new StoreLimits(TimeSpan.FromSeconds(10), 5));
        Assert.Equal([4f, 4.25f, 4.5f, 4.75f, 5f], narrower.GetSeries(Metrics.CpuUsage));
        Assert.Equal([4f, 4.25f, 4.5f, 4.75f, 5f], Open(NodeName).GetSeries(Metrics.CpuUsage));
    }

    [Fact]
    public void Nodes_do_not_see_each_others_points()
    {
        var mine = Open(NodeName);
        var other = Open(NodeName + "-other");
        mine.Append([Cpu(0, 1)]);
        other.Append([Cpu(0, 2), Cpu(3, 3)]);

        Assert.Equal([1f], mine.GetSeries(Metrics.CpuUsage));
        Assert.Equal([2f, 3f], other.GetSeries(Metrics.CpuUsage));
    }

    [Fact]
    public void A_day_of_history_in_one_append_is_capped_to_the_newest_points()
    {
        // 12,000 points (more than one Redis script batch) into room for 10,000.
        var store = Open(NodeName, new StoreLimits(TimeSpan.FromDays(1), 10_000));
        var result = store.Append(Enumerable.Range(0, 12_000).Select(s => Cpu(3 * s, s)).ToList());

        Assert.Equal(new AppendResult(12_000, 0, 2_000), result);
        var (times, values) = store.Points(Metrics.CpuUsage);
        Assert.Equal(10_000, values.Length);
        Assert.Equal(2_000f, values[0]);
        Assert.Equal(11_999f, values[^1]);
        Assert.Equal(T0.AddSeconds(3 * 11_999).ToUnixTimeMilliseconds(), times[^1]);
    }
}
