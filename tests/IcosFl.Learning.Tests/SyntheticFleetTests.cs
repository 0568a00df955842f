using IcosFl.Contracts;

namespace IcosFl.Learning.Tests;

public sealed class SyntheticFleetTests
{
    [Theory]
    [InlineData(Metrics.CpuUsage, 0f, 4f)]
    [InlineData(Metrics.MemoryUsage, 1000f, 8000f)]
    [InlineData(Metrics.PowerConsumption, 40f, 250f)]
    public void Series_stay_in_the_metrics_plausible_range_and_vary(string metric, float floor, float ceiling)
    {
        for (int node = 0; node < 8; node++)
        {
            var series = SyntheticFleet.Series(metric, node, 3000, seed: 42);

            Assert.Equal(3000, series.Length);
            Assert.All(series, v => Assert.InRange(v, floor, ceiling));
            // Not flat: the spread covers a real part of the range.
            Assert.True(series.Max() - series.Min() > (ceiling - floor) * 0.1, $"node {node} spans only {series.Min()}..{series.Max()}");
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
        // Non-IID: node levels differ visibly, not only the noise.
        var levels = Enumerable.Range(0, 6).Select(n => SyntheticFleet.Series(Metrics.CpuUsage, n, 2000, 7).Average()).ToArray();
        Assert.True(levels.Max() - levels.Min() > 0.4, $"node mean loads {string.Join(", ", levels.Select(l => l.ToString("F2")))}");
    }

    [Fact]
    public void A_shorter_series_is_the_start_of_a_longer_one()
    {
        Assert.Equal(SyntheticFleet.Series(Metrics.PowerConsumption, 2, 1000, 1)[..300], SyntheticFleet.Series(Metrics.PowerConsumption, 2, 300, 1));
    }

    [Fact]
    public void An_unknown_metric_is_refused_listing_the_known_ones()
    {
        var error = Assert.Throws<ArgumentException>(() => SyntheticFleet.Series("disk_usage", 0, 10, 1));

        Assert.Contains("'disk_usage'", error.Message);
        Assert.Contains("cpu_usage, memory_usage, power_consumption", error.Message);
    }
}
