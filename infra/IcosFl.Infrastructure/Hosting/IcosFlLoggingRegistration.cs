using IcosFl.Infrastructure.Logging;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;

namespace IcosFl.Infrastructure.Hosting;

public static class IcosFlLoggingRegistration
{
    /// <summary>
    /// The process's logs go through IcosFl's Serilog logger only (<see cref="IcosFlLogging.CreateLogger"/>: console on
    /// stderr, CLEF file, Seq), replacing the host's default providers; the host disposes the logger.
    /// </summary>
    public static IHostApplicationBuilder AddIcosFlLogging(this IHostApplicationBuilder builder, LoggingOptions options)
    {
        builder.Logging.ClearProviders();
        builder.Services.AddSerilog(IcosFlLogging.CreateLogger(options), dispose: true);
        return builder;
    }
}
