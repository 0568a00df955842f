using IcosFl.Learning.NodeData;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IcosFl.Worker.Metrics;

/// <summary>Samples the node's metrics into its store every scrape-interval, from start until the host stops.</summary>
public sealed class MetricsScrapeService(
    MetricsCollector collector, MetricsCollectionOptions options, TimeProvider clock, ILogger<MetricsScrapeService> logger) : BackgroundService
{
    /// <summary>Takes the first sample before the host finishes starting, so a node never starts with nothing it could have had.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Enabled)
        {
            logger.LogInformation("Metrics collection is switched off");
            return Task.CompletedTask;
        }

        foreach (var source in collector.Sources.Where(s => s.Unavailable is not null))
            logger.LogWarning("{Metrics} unavailable on this node: {Reason}", string.Join(", ", source.Metrics), source.Unavailable);
        Scrape();
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.ScrapeInterval), clock);
        while (await NextTick(timer, stoppingToken))
            Scrape();
    }

    private void Scrape()
    {
        var result = collector.Scrape(clock.GetUtcNow());
        foreach (var failure in result.Failures)
            logger.LogWarning("Metric source {Source} failed: {Problem}", failure.Source, failure.Problem);
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
