using IcosFl.Learning.NodeData;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace IcosFl.Worker.Metrics;

public static class MetricsCollectionRegistration
{
    /// <summary>
    /// Collects this Linux node's metrics (load average, CPU %, memory, RAPL power where present) into
    /// <paramref name="store"/> every scrape-interval, unless <paramref name="options"/> switches it off.
    /// Pass <paramref name="sources"/> to collect from elsewhere (a replayed file in tests).
    /// </summary>
    public static IServiceCollection AddNodeMetricsCollection(
        this IServiceCollection services, INodeStore store, MetricsCollectionOptions options, IEnumerable<IMetricSource>? sources = null)
    {
        if (options.FindProblem() is { } problem)
            throw new ArgumentException(problem, nameof(options));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(options);
        services.AddSingleton(new MetricsCollector(sources ?? MetricsCollector.LinuxSources(), store));
        services.AddHostedService<MetricsScrapeService>();
        return services;
    }
}
