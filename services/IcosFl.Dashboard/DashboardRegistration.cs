using IcosFl.Controller.Status;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StackExchange.Redis;

namespace IcosFl.Dashboard;

public static class DashboardRegistration
{
    /// <summary>
    /// Serves the dashboard, the JSON API, /metrics and the health endpoints from this host (the
    /// controller's, or the embedded simulation's). Sagas are read from Redis when the host has a Redis
    /// connection (deployed), else through MassTransit's saga repositories (embedded, in memory).
    /// </summary>
    public static IServiceCollection AddIcosFlDashboard(this IServiceCollection services, DashboardOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<FederationMetrics>();
        services.AddSingleton<FederationActivity>();
        services.AddSingleton<FederationBusObserver>();
        services.TryAddSingleton<ISagaReader>(sp => sp.GetService<IConnectionMultiplexer>() is { } redis
            ? new RedisSagaReader(redis)
            : ActivatorUtilities.CreateInstance<SagaRepositoryReader>(sp));
        services.TryAddSingleton<FederationStatusReader>();
        services.AddSingleton<DashboardServer>();
        services.AddHostedService(sp => sp.GetRequiredService<DashboardServer>());
        return services;
    }
}
