using IcosFl.Contracts;

namespace IcosFl.Learning.Tests;

public sealed class SyntheticFleetTests
{
    [Fact]
    public void The_kernels_fixed_point_load_average_is_reproduced()
    {
        // One runnable task from idle: (0*1884 + 2048*164 + 2047) / 2048 = 164, printed as (164 + 10) * 100 >> 11 = 8 hundredths.
        Assert.Equal(164, SyntheticFleet.FoldLoad(0, 1));
        Assert.Equal(0.08f, SyntheticFleet.PrintLoad(164));
        long load = 0;
        for (int update = 0; update < 12; update++)
            load = SyntheticFleet.FoldLoad(load, 1);
        // One minute (12 updates) of one task: 1299/2048 (1 - e^-1 = 0.632 in exact arithmetic), printed 0.63.
        Assert.Equal(1299, load);
        Assert.Equal(0.63f, SyntheticFleet.PrintLoad(load));
        // A falling load rounds down: from 2.00 with an empty run queue, one update leaves 2 x 1884 = 3768/2048 = 1.84.
        Assert.Equal(3768, SyntheticFleet.FoldLoad(2 * 2048, 0));
        Assert.Equal(1.84f, SyntheticFleet.PrintLoad(SyntheticFleet.FoldLoad(2 * 2048, 0)));
    }

    [Fact]
    public void Node_1_of_seed_42_is_pinned()
    {
        // Pinned so that a change to the generator (and so to every figure in the README's experiment table) is seen.
        // Samples 1000..1005 of worker-1 in `experiment`/`simulate`: a job has just started, the load rises with
        // momentum and repeats a value where no kernel update fell between two 3 s samples.
        var node = SyntheticFleet.Node(1, 2000, 42);

        Assert.Equal([0.83f, 0.92f, 0.92f, 1.01f, 1.09f, 1.09f], node[Metrics.CpuUsage][1000..1006]);
        Assert.Equal([11719.6f, 11721.7f, 11726.5f, 11738.1f, 11736.2f, 11740f], node[Metrics.MemoryUsage][1000..1006]);
        Assert.Equal([90.58f, 88.26f, 94.12f, 85.2f, 92.85f, 86.84f], node[Metrics.PowerConsumption][1000..1006]);
        Assert.Equal(8, SyntheticFleet.Describe(1, 42).Cores);
    }

    [Fact]
    public void Series_is_one_metric_of_the_aligned_node()
    {
        var node = SyntheticFleet.Node(3, 800, 7);

        Assert.Equal(Metrics.All.Order(), node.Keys.Order());
        foreach (var metric in Metrics.All)
            Assert.Equal(node[metric], SyntheticFleet.Series(metric, 3, 800, 7));
    }

    [Fact]
    public void Cpu_usage_reads_like_proc_loadavg()
    {
        for (int n = 0; n < 8; n++)
        {
            var load = SyntheticFleet.Series(Metrics.CpuUsage, n, 3000, 42);
            var changes = load.Zip(load.Skip(1), (a, b) => b - a).ToArray();

            // Two decimals, never negative.
            Assert.All(load, v => Assert.Equal(Math.Round(v, 2), v, 5));
            Assert.All(load, v => Assert.True(v >= 0));
            // The kernel updates every 5.004 s, ICOS-FL samples every 3 s: at least 40 % of samples repeat the previous one.
            double repeats = changes.Count(c => c == 0) / (double)changes.Length;
            Assert.True(repeats >= 0.40, $"node {n}: {repeats:P1} repeated samples");
            // Momentum: a move is followed by a move the same way (what lets a model beat persistence).
            var moves = changes.Where(c => c != 0).ToArray();
            double lag1 = Correlation(moves[..^1], moves[1..]);
            Assert.True(lag1 > 0.7, $"node {n}: lag-1 correlation of the load's moves {lag1:F2}");
        }
    }

    [Fact]
    public void Memory_and_power_stay_within_what_the_node_has()
    {
        for (int n = 0; n < 8; n++)
        {
            var profile = SyntheticFleet.Describe(n, 42);
            var node = SyntheticFleet.Node(n, 3000, 42);

            Assert.All(node[Metrics.MemoryUsage], v => Assert.InRange(v, profile.MemoryBaseMiB * 0.9, profile.MemoryTotalMiB));
            // Idle watts up to every core busy, give or take the meter's noise (sigma 1.5 W).
            Assert.All(node[Metrics.PowerConsumption],
                v => Assert.InRange(v, profile.IdleWatts * 0.9, profile.IdleWatts + profile.WattsPerCore * profile.Cores + 10));
        }
    }

    [Fact]
    public void The_metrics_of_a_node_come_from_one_workload()
    {
        for (int n = 0; n < 8; n++)
        {
            var node = SyntheticFleet.Node(n, 3000, 42);
            double cpuPower = Correlation(node[Metrics.CpuUsage], node[Metrics.PowerConsumption]);
            double powerMemory = Correlation(node[Metrics.PowerConsumption], node[Metrics.MemoryUsage]);

            Assert.True(cpuPower > 0.5, $"node {n}: corr(cpu_usage, power_consumption) {cpuPower:F2}");
            Assert.True(powerMemory > 0.5, $"node {n}: corr(power_consumption, memory_usage) {powerMemory:F2}");
        }
    }

    [Fact]
    public void The_same_seed_and_node_give_the_same_series()
    {
        Assert.Equal(SyntheticFleet.Series(Metrics.MemoryUsage, 3, 500, 7), SyntheticFleet.Series(Metrics.MemoryUsage, 3, 500, 7));
    }

    [Fact]
    public void Nodes_and_seeds_differ()
    {
        var node0 = SyntheticFleet.Series(Metrics.CpuUsage, 0, 2000, 7);
        var node1 = SyntheticFleet.Series(Metrics.CpuUsage, 1, 2000, 7);
        var otherSeed = SyntheticFleet.Series(Metrics.CpuUsage, 0, 2000, 8);

        Assert.NotEqual(node0, node1);
        Assert.NotEqual(node0, otherSeed);
        // Non-IID: node levels and hardware differ visibly, not only the noise.
        var levels = Enumerable.Range(0, 6).Select(n => SyntheticFleet.Series(Metrics.CpuUsage, n, 2000, 7).Average()).ToArray();
        Assert.True(levels.Max() - levels.Min() > 0.4, $"node mean loads {string.Join(", ", levels.Select(l => l.ToString("F2")))}");
        Assert.True(Enumerable.Range(0, 6).Select(n => SyntheticFleet.Describe(n, 7).Cores).Distinct().Count() > 1);
    }

    [Theory]
    [InlineData(Metrics.CpuUsage)]
    [InlineData(Metrics.MemoryUsage)]
    [InlineData(Metrics.PowerConsumption)]
    public void A_shorter_series_is_the_start_of_a_longer_one(string metric)
    {
        Assert.Equal(SyntheticFleet.Series(metric, 2, 1000, 1)[..300], SyntheticFleet.Series(metric, 2, 300, 1));
    }

    [Fact]
    public void An_unknown_metric_is_refused_listing_the_known_ones()
    {
        var error = Assert.Throws<ArgumentException>(() => SyntheticFleet.Series("disk_usage", 0, 10, 1));

        Assert.Contains("'disk_usage'", error.Message);
        Assert.Contains("cpu_usage, memory_usage, power_consumption", error.Message);
    }

    [Fact]
    public void A_negative_node_or_length_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticFleet.Series(Metrics.CpuUsage, -1, 10, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticFleet.Node(0, -1, 1));
    }

    private static double Correlation(IReadOnlyList<float> a, IReadOnlyList<float> b)
    {
        double ma = a.Average(x => (double)x), mb = b.Average(x => (double)x), ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Count; i++)
        {
            ab += (a[i] - ma) * (b[i] - mb);
            aa += (a[i] - ma) * (a[i] - ma);
            bb += (b[i] - mb) * (b[i] - mb);
        }

        return ab / Math.Sqrt(aa * bb);
    }
}
