using MassTransit;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace IcosFl.Dashboard;

/// <summary>Ready when the bus is connected (RabbitMQ when deployed): MassTransit's own view of its endpoints.</summary>
public sealed class BusReadiness(IBusControl bus) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var health = bus.CheckHealth();
        var description = string.IsNullOrEmpty(health.Description) ? health.Status.ToString() : health.Description;
        return Task.FromResult(health.Status switch
        {
            BusHealthStatus.Healthy => HealthCheckResult.Healthy(description),
            BusHealthStatus.Degraded => HealthCheckResult.Degraded(description),
            _ => HealthCheckResult.Unhealthy(description),
        });
    }
}

/// <summary>Ready when Redis answers a PING (deployed: the saga Redis with saga state, the worker registry and ledgers; the payload Redis with claim checks).</summary>
public sealed class RedisReadiness(IConnectionMultiplexer redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var latency = await redis.GetDatabase().PingAsync().WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
            return HealthCheckResult.Healthy($"PING answered in {latency.TotalMilliseconds:F1} ms");
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Endpoints only: the configuration string may hold a password.
            var at = string.Join(", ", redis.GetEndPoints().Select(EndPointCollection.ToString));
            return HealthCheckResult.Unhealthy($"Redis at {at} does not answer: {e.Message}");
        }
    }
}
