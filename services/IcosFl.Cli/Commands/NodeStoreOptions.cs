using System.CommandLine;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Learning.NodeData;
using IcosFl.Worker.Metrics;
using StackExchange.Redis;

namespace IcosFl.Cli.Commands;

/// <summary>A node store opened by a command, with the Redis connection it holds (if any) to close at the end.</summary>
public sealed class OpenedNodeStore(INodeStore store, IConnectionMultiplexer? redis) : IDisposable
{
    public INodeStore Store { get; } = store;

    public void Dispose() => redis?.Dispose();
}

/// <summary>
/// Where a node keeps its own metric history (worker, controller, data, predict): a file store under --data-dir,
/// or the node's own Redis (--node-redis / $ICOSFL_NODE_REDIS; never the federation's saga Redis unless pointed at it).
/// </summary>
public sealed class NodeStoreOptions
{
    public const string File = "file";
    public const string Redis = "redis";

    public Option<string?> Kind { get; } = new("--data-store")
    {
        Description = "file: one folder per node under --data-dir; redis: the node's own Redis (--node-redis). " +
                      "Default: $ICOSFL_DATA_STORE, else redis when a node Redis is given, else file",
    };
    public Option<string?> NodeRedis { get; } = new("--node-redis")
    {
        Description = "The node's own Redis (a StackExchange.Redis configuration string such as localhost:6379; default: $ICOSFL_NODE_REDIS)",
    };
    public Option<string> DataDir { get; } = new("--data-dir")
    {
        Description = "Folder holding one store folder per node, for --data-store file (default: $ICOSFL_DATA_DIR or .icosfl/data)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ICOSFL_DATA_DIR") is { Length: > 0 } d ? d : Path.Combine(".icosfl", "data"),
    };
    public Option<string> Retention { get; } = new("--retention")
    {
        Description = "History kept per metric, back from its newest point: e.g. 24h, 90m, 3600s (default: $ICOSFL_RETENTION or 24h)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ICOSFL_RETENTION") is { Length: > 0 } r ? r : "24h",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Kind);
        command.Options.Add(NodeRedis);
        command.Options.Add(DataDir);
        command.Options.Add(Retention);
    }

    /// <summary>The node Redis asked for, or null.</summary>
    public string? RedisAddress(ParseResult parse) =>
        parse.GetValue(NodeRedis) ?? (Environment.GetEnvironmentVariable("ICOSFL_NODE_REDIS") is { Length: > 0 } r ? r : null);

    /// <summary>"file" or "redis" as asked, or as defaulted (redis when a node Redis is given).</summary>
    public string KindOf(ParseResult parse) =>
        parse.GetValue(Kind) ?? (Environment.GetEnvironmentVariable("ICOSFL_DATA_STORE") is { Length: > 0 } k ? k : null)
        ?? (RedisAddress(parse) is null ? File : Redis);

    /// <summary>Why the options cannot work, or null.</summary>
    public string? FindProblem(ParseResult parse)
    {
        if (!DataCommand.TryParseSpan(parse.GetValue(Retention)!, out _))
            return $"--retention '{parse.GetValue(Retention)}' is not a positive duration such as 24h, 90m or 3600s";
        return KindOf(parse) switch
        {
            File => null,
            Redis when RedisAddress(parse) is null =>
                "--data-store redis needs the node's own Redis: pass --node-redis ADDR (or set ICOSFL_NODE_REDIS)",
            Redis => null,
            var other => $"--data-store must be '{File}' or '{Redis}', got '{other}'",
        };
    }

    public StoreLimits Limits(ParseResult parse)
    {
        DataCommand.TryParseSpan(parse.GetValue(Retention)!, out var span);
        return StoreLimits.Default with { Retention = span };
    }

    /// <summary>For reading commands: why <paramref name="node"/> has no file store to read (rather than creating an empty one), or null.</summary>
    public string? MissingFileStore(ParseResult parse, string node)
    {
        if (KindOf(parse) != File)
            return null;
        var folder = Path.GetFullPath(Path.Combine(parse.GetValue(DataDir)!, node));
        return System.IO.Directory.Exists(folder)
            ? null
            : $"node {node} has no store at {folder} (see --data-dir, and icosfl data import/collect)";
    }

    /// <summary>
    /// Opens the node's store (checking the options first). Throws <see cref="ArgumentException"/> for bad options,
    /// <see cref="UnreachableException"/> when the node Redis does not answer, <see cref="FormatException"/> or
    /// <see cref="IOException"/> for a damaged store.
    /// </summary>
    public async Task<OpenedNodeStore> OpenAsync(ParseResult parse, string node)
    {
        if (FindProblem(parse) is { } problem)
            throw new ArgumentException(problem);
        var limits = Limits(parse);
        if (KindOf(parse) == File)
            return new OpenedNodeStore(new FileNodeStore(parse.GetValue(DataDir)!, node, limits), null);

        var address = RedisAddress(parse)!;
        var redis = await ConnectAsync(address);
        try
        {
            return new OpenedNodeStore(new RedisNodeStore(redis, node, limits), redis);
        }
        catch
        {
            redis.Dispose();
            throw;
        }
    }

    private static async Task<IConnectionMultiplexer> ConnectAsync(string address)
    {
        ConfigurationOptions options;
        try
        {
            options = ConfigurationOptions.Parse(address);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"--node-redis / ICOSFL_NODE_REDIS is not a Redis configuration string: '{address}': {e.Message}");
        }

        options.AbortOnConnectFail = true;
        // The address's own connectTimeout wins over ICOSFL_CONNECT_TIMEOUT.
        if (!address.Contains("connectTimeout=", StringComparison.OrdinalIgnoreCase))
            options.ConnectTimeout = (int)NodeStartup.ConnectTimeout.TotalMilliseconds;
        try
        {
            return await ConnectionMultiplexer.ConnectAsync(options);
        }
        catch (RedisConnectionException e)
        {
            throw new UnreachableException($"cannot reach the node Redis at {string.Join(", ", options.EndPoints)}: {e.Message.Split('\n')[0]}");
        }
    }
}
