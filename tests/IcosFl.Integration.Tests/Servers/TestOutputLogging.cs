using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace IcosFl.Integration.Tests.Servers;

/// <summary>An in-process host's log lines in the test's output (shown when it fails), prefixed with the host's name.</summary>
public sealed class TestOutputLoggerProvider(ITestOutputHelper output, string host) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(output, host, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(ITestOutputHelper output, string host, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            try
            {
                output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} [{host}] {logLevel} {category}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
            }
            catch (InvalidOperationException)
            {
                // The test has finished: its output no longer takes lines.
            }
        }
    }
}

public static class TestOutputLogging
{
    /// <summary>Information and above from IcosFl, warnings and above from the rest (MassTransit is chatty).</summary>
    public static ILoggingBuilder ToTestOutput(this ILoggingBuilder logging, ITestOutputHelper output, string host) => logging
        .ClearProviders()
        .AddProvider(new TestOutputLoggerProvider(output, host))
        .SetMinimumLevel(LogLevel.Warning)
        .AddFilter("IcosFl", LogLevel.Information);
}
