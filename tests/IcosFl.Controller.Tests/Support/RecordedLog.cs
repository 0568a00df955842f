using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace IcosFl.Controller.Tests;

/// <summary>Keeps every log entry of the services under test, with its template's properties, for assertions.</summary>
public sealed class RecordedLog : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> entries = new();

    public IReadOnlyList<LogEntry> Entries => [.. entries];

    public ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Recorder(RecordedLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
                return;
            var properties = state as IEnumerable<KeyValuePair<string, object?>> ?? [];
            log.entries.Enqueue(new LogEntry(logLevel, category, formatter(state, exception),
                properties.ToDictionary(p => p.Key, p => p.Value)));
        }
    }
}

/// <summary>One log entry: level, logger category, rendered message, and the template's named properties.</summary>
public sealed record LogEntry(LogLevel Level, string Category, string Message, IReadOnlyDictionary<string, object?> Properties);
