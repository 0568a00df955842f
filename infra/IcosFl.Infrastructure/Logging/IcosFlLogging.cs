using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace IcosFl.Infrastructure.Logging;

/// <summary>Where a process's logs go.</summary>
public sealed record LoggingOptions
{
    /// <summary>Name of the process in every event (controller, worker, cli, simulate).</summary>
    public string Service { get; init; } = "icosfl";
    /// <summary>Lowest level written to the console (stderr).</summary>
    public LogEventLevel ConsoleLevel { get; init; } = LogEventLevel.Information;
    /// <summary>Compact JSON (CLEF) file, rolling daily; null for none.</summary>
    public string? ClefFile { get; init; }
    /// <summary>Seq ingestion URL (ICOSFL_SEQ_URL); null for none.</summary>
    public string? SeqUrl { get; init; }
    public string? SeqApiKey { get; init; }
    public LogEventLevel MinimumLevel { get; init; } = LogEventLevel.Information;
}

public static class IcosFlLogging
{
    /// <summary>
    /// Serilog with structured properties: console always (stderr, so stdout stays for command output),
    /// a CLEF file when configured, Seq when ICOSFL_SEQ_URL is set.
    /// </summary>
    public static Logger CreateLogger(LoggingOptions options)
    {
        var config = new LoggerConfiguration()
            .MinimumLevel.Is(options.MinimumLevel)
            .MinimumLevel.Override("MassTransit", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            // Optimistic-concurrency conflicts on saga instances are expected and retried; not worth a warning each.
            .Filter.ByExcluding(e => e.Level <= LogEventLevel.Warning && e.Exception is MassTransit.ConcurrencyException)
            .Enrich.FromLogContext()
            .Enrich.WithProperty("Service", options.Service)
            .Enrich.WithProperty("MachineName", Environment.MachineName)
            .WriteTo.Console(
                restrictedToMinimumLevel: options.ConsoleLevel,
                standardErrorFromLevel: LogEventLevel.Verbose,
                outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}",
                formatProvider: System.Globalization.CultureInfo.InvariantCulture);
        if (!string.IsNullOrWhiteSpace(options.ClefFile))
            config = config.WriteTo.File(new CompactJsonFormatter(), options.ClefFile, rollingInterval: RollingInterval.Day,
                retainedFileCountLimit: 7, shared: true);
        if (!string.IsNullOrWhiteSpace(options.SeqUrl))
            config = config.WriteTo.Seq(options.SeqUrl, apiKey: options.SeqApiKey,
                formatProvider: System.Globalization.CultureInfo.InvariantCulture);
        return config.CreateLogger();
    }
}
