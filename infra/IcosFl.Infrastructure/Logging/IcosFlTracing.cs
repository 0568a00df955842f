using MassTransit.Logging;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace IcosFl.Infrastructure.Logging;

public static class IcosFlTracing
{
    /// <summary>
    /// Listens to MassTransit's activity source, so every publish carries W3C trace context in its
    /// headers and every consume continues that trace. Serilog stamps each log event with the current
    /// trace and span ids (@tr, @sp in CLEF and Seq), so one round can be followed from the controller
    /// to the workers and back by its trace id.
    /// </summary>
    public static IServiceCollection AddIcosFlTracing(this IServiceCollection services)
    {
        services.AddOpenTelemetry().WithTracing(tracing => tracing.AddSource(DiagnosticHeaders.DefaultListenerName));
        return services;
    }
}
