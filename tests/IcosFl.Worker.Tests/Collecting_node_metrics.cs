using IcosFl.Contracts;
using IcosFl.Learning.NodeData;
using IcosFl.Worker.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace IcosFl.Worker.Tests;

// Metrics here are the contract's names, not the namespace IcosFl.Worker.Metrics that this namespace sees first.
using Metrics = IcosFl.Contracts.Metrics;

/// <summary>The worker's metrics hosted service, fed by a replayed file (its first scrape runs as it starts).</summary>
public sealed class Collecting_node_metrics
{
    private static CsvReadResult File() => NodeDataCsv.Read(new StringReader("timestamp,cpu_usage,memory_usage\n1795860000,0.5,2048\n1795860003,0.75,2050\n"));

    [Fact]
    public async Task Should_sample_into_the_store_as_it_starts()
    {
        var store = new InMemoryNodeStore("edge-1");
        await using var provider = Services(store, new MetricsCollectionOptions { ScrapeInterval = 3600 });
        var service = provider.GetServices<IHostedService>().OfType<MetricsScrapeService>().Single();

        await service.StartAsync(CancellationToken.None);
        await service.StopAsync(CancellationToken.None);

        Assert.Equal([0.5f], store.GetSeries(Metrics.CpuUsage));
        Assert.Equal([2048f], store.GetSeries(Metrics.MemoryUsage));
    }

    [Fact]
    public async Task Should_collect_nothing_when_switched_off()
    {
        var store = new InMemoryNodeStore("edge-1");
        await using var provider = Services(store, new MetricsCollectionOptions { Enabled = false });
        var service = provider.GetServices<IHostedService>().OfType<MetricsScrapeService>().Single();

        await service.StartAsync(CancellationToken.None);
        await service.StopAsync(CancellationToken.None);

        Assert.Empty(store.DataPoints());
    }

    [Fact]
    public void Should_refuse_a_scrape_interval_that_is_not_positive()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            new ServiceCollection().AddNodeMetricsCollection(new InMemoryNodeStore("n"), new MetricsCollectionOptions { ScrapeInterval = 0 }));
        Assert.StartsWith("scrape-interval must be a positive number of seconds, got 0", e.Message);
    }

    private static ServiceProvider Services(INodeStore store, MetricsCollectionOptions options) =>
        new ServiceCollection()
            .AddLogging()
            .AddNodeMetricsCollection(store, options, [new ReplaySource(File())])
            .BuildServiceProvider();
}
