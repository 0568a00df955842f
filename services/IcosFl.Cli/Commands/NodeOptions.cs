using System.CommandLine;
using IcosFl.Infrastructure.Logging;
using IcosFl.Infrastructure.Messaging;
using Serilog.Events;

namespace IcosFl.Cli.Commands;

/// <summary>
/// Options every command that talks to a deployed federation shares: where the servers are. The controller also takes
/// --payload-redis (the Redis of claim-checked weights); the worker takes no Redis at all (<paramref name="redis"/>
/// false): it reaches nothing but the broker.
/// </summary>
public sealed class ConnectionOptions(bool payloadRedis = false, bool redis = true)
{
    public Option<string?> Broker { get; } = new("--broker")
    {
        Description = $"RabbitMQ amqp URI (default: $ICOSFL_BROKER or {ConnectionSettings.DefaultBroker})",
    };
    public Option<string?> Redis { get; } = new("--redis")
    {
        Description = $"Redis configuration string (default: $ICOSFL_REDIS or {ConnectionSettings.DefaultRedis})",
    };
    public Option<string?> PayloadRedis { get; } = new("--payload-redis")
    {
        Description = "Redis configuration string of the claim-check payloads, the model weights (default: $ICOSFL_PAYLOAD_REDIS or the --redis one)",
    };
    public Option<string?> Seq { get; } = new("--seq") { Description = "Seq URL for logs (default: $ICOSFL_SEQ_URL; none)" };

    public void AddTo(Command command)
    {
        command.Options.Add(Broker);
        if (redis)
            command.Options.Add(Redis);
        if (payloadRedis)
            command.Options.Add(PayloadRedis);
        command.Options.Add(Seq);
    }

    public ConnectionSettings Read(ParseResult parse) =>
        ConnectionSettings.FromEnvironment(parse.GetValue(Broker), redis ? parse.GetValue(Redis) : null, parse.GetValue(Seq),
            payloadRedis ? parse.GetValue(PayloadRedis) : null);
}

/// <summary>Logging options of the long-running node commands.</summary>
public sealed class NodeLoggingOptions
{
    public Option<LogEventLevel> Level { get; } = new("--log-level")
    {
        Description = "Lowest level of log events written",
        DefaultValueFactory = _ => LogEventLevel.Information,
    };
    public Option<string?> LogDir { get; } = new("--log-dir")
    {
        Description = "Folder of the compact-JSON (CLEF) log files (default: $ICOSFL_LOG_DIR or .icosfl/logs)",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Level);
        command.Options.Add(LogDir);
    }

    public LoggingOptions Read(ParseResult parse, string service, ConnectionSettings settings)
    {
        var dir = parse.GetValue(LogDir) ?? Environment.GetEnvironmentVariable("ICOSFL_LOG_DIR") ?? Path.Combine(".icosfl", "logs");
        return new LoggingOptions
        {
            Service = service,
            ConsoleLevel = parse.GetValue(Level),
            MinimumLevel = parse.GetValue(Level),
            ClefFile = Path.Combine(dir, $"{service}-.clef"),
            SeqUrl = settings.SeqUrl,
            // A secret: read from the environment only, never a flag that `ps` would show.
            SeqApiKey = Environment.GetEnvironmentVariable("ICOSFL_SEQ_API_KEY") is { Length: > 0 } key ? key : null,
        };
    }
}
