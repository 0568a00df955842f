using System.Text.Json;
using System.Text.Json.Serialization;
using IcosFl.Controller.Status;
using IcosFl.Infrastructure.Messaging;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using StackExchange.Redis;

namespace IcosFl.Dashboard;

/// <summary>
/// Kestrel inside the controller's (or the simulation's) host: the dashboard pages, the JSON API,
/// /metrics and the health endpoints. A web application of its own, started and stopped with the
/// host, so the controller's host stays a plain generic host.
/// </summary>
public sealed class DashboardServer(
    DashboardOptions options,
    FederationStatusReader statusReader,
    FederationMetrics metrics,
    FederationActivity activity,
    FederationBusObserver observer,
    IBusControl bus,
    IServiceProvider controllerServices,
    ILoggerFactory loggerFactory) : IHostedService, IAsyncDisposable
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<DashboardServer>();
    private readonly TaskCompletionSource<Uri> _address = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<IDisposable> _observerHandles = [];
    private WebApplication? _app;

    /// <summary>
    /// Where the dashboard answers once started (the real port when port 0 was asked); faulted with the
    /// reason when it could not listen.
    /// </summary>
    public Task<Uri> Address => _address.Task;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _observerHandles.Add(bus.ConnectConsumeObserver(observer));
        _observerHandles.Add(bus.ConnectPublishObserver(observer));

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(DashboardServer).Assembly.GetName().Name });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.WebHost.UseUrls(options.Listen.ToString());
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
            json.SerializerOptions.NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals;
        });
        var health = builder.Services.AddHealthChecks().AddCheck("bus", new BusReadiness(bus), tags: ["ready"]);
        var redis = controllerServices.GetService<IConnectionMultiplexer>();
        if (redis is not null)
            health.AddCheck("redis", new RedisReadiness(redis), tags: ["ready"]);
        // A payload Redis of its own: without it no round can move its weights, so it counts for readiness too.
        if (controllerServices.GetKeyedService<IConnectionMultiplexer>(RedisConnections.PayloadsServiceKey) is { } payloads && !ReferenceEquals(payloads, redis))
            health.AddCheck("payload-redis", new RedisReadiness(payloads), tags: ["ready"]);
        builder.Services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter(FederationMetrics.MeterName)
            // MassTransit's own receive/publish/consume instruments, for free.
            .AddMeter("MassTransit")
            .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));

        var app = builder.Build();
        DashboardApi.Map(app, options, statusReader, metrics, activity, ActivatorUtilities.CreateInstance<PredictionsApi>(controllerServices),
            ActivatorUtilities.CreateInstance<ForecastApi>(controllerServices));
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteHealth });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = WriteHealth });
        app.MapPrometheusScrapingEndpoint("/metrics");

        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            // The federation matters more than its dashboard: say why there is none and carry on.
            await app.DisposeAsync();
            var failure = new InvalidOperationException(
                $"the dashboard cannot listen on {options.Listen}: {e.Message}; choose another address with --http HOST:PORT, or --http off", e);
            _logger.LogError("Dashboard not served: {Reason}", failure.Message);
            _address.TrySetException(failure);
            return;
        }
        _app = app;
        metrics.StartFromZero();
        var address = new Uri(app.Urls.First());
        _address.TrySetResult(address);
        _logger.LogInformation("Dashboard at {DashboardUrl}", address);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var handle in _observerHandles)
            handle.Dispose();
        _observerHandles.Clear();
        if (_app is not null)
            await _app.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
            await _app.DisposeAsync();
        _app = null;
    }

    private static Task WriteHealth(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.Select(e => new { name = e.Key, status = e.Value.Status.ToString(), description = e.Value.Description }),
        }));
    }
}
