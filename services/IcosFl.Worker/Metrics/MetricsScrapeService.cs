using IcosFl.Learning.NodeData;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IcosFl.Worker.Metrics;

/// <summary>Samples the node's metrics into its store every scrape-interval, from start until the host stops.</summary>
public sealed class MetricsScrapeService(
    MetricsCollector collector, MetricsCollectionOptions options, TimeProvider clock, ILogger<MetricsScrapeService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Enabled)
        {
            logger.LogInformation("Metrics collection is switched off");
            return;
        }

        foreach (var source in collector.Sources.Where(s => s.Unavailable is not null))
            logger.LogWarning("{Metrics} unavailable on this node: {Reason}", string.Join(", ", source.Metrics), source.Unavailable);

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.ScrapeInterval), clock);
        do
        {
            var result = collector.Scrape(clock.GetUtcNow());
            foreach (var failure in result.Failures)
                logger.LogWarning("Metric source {Source} failed: {Problem}", failure.Source, failure.Problem);
        }
        while (await NextTick(timer, stoppingToken));
    }

    private static async Task<bool> NextTick(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
