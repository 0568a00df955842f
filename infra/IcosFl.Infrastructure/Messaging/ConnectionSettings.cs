namespace IcosFl.Infrastructure.Messaging;

/// <summary>
/// Where a deployed node finds the broker, Redis and Seq. Read from ICOSFL_BROKER (an amqp URI with
/// credentials and vhost), ICOSFL_REDIS (a StackExchange.Redis configuration string: sagas, ledgers,
/// scheduler, worker registry), ICOSFL_PAYLOAD_REDIS (the Redis of claim-check payloads, the model
/// weights; the same as ICOSFL_REDIS when unset) and ICOSFL_SEQ_URL, overridable by command-line flags;
/// localhost defaults.
/// </summary>
public sealed record ConnectionSettings
{
    public const string DefaultBroker = "amqp://guest:guest@localhost:5672/";
    public const string DefaultRedis = "localhost:6379";

    public string Broker { get; init; } = DefaultBroker;
    public string Redis { get; init; } = DefaultRedis;
    public string? SeqUrl { get; init; }

    private string? _payloadRedis;

    /// <summary>
    /// The Redis of claim-check payloads. Unset, it is <see cref="Redis"/> itself, so a single-Redis
    /// deployment works unchanged; a deployment gives payloads a Redis of their own so large, short-lived
    /// weights stay out of the saga Redis's append-only file.
    /// </summary>
    public string PayloadRedis
    {
        get => _payloadRedis ?? Redis;
        init => _payloadRedis = value;
    }

    /// <summary>True when payloads go to another Redis than the sagas (a configuration string of its own).</summary>
    public bool PayloadRedisIsSeparate => !string.Equals(PayloadRedis, Redis, StringComparison.Ordinal);

    public static ConnectionSettings FromEnvironment(string? broker = null, string? redis = null, string? seqUrl = null, string? payloadRedis = null) => new()
    {
        Broker = broker ?? Env("ICOSFL_BROKER") ?? DefaultBroker,
        Redis = redis ?? Env("ICOSFL_REDIS") ?? DefaultRedis,
        SeqUrl = seqUrl ?? Env("ICOSFL_SEQ_URL"),
        _payloadRedis = payloadRedis ?? Env("ICOSFL_PAYLOAD_REDIS"),
    };

    /// <summary>The broker URI without its password, for messages and logs.</summary>
    public string BrokerForDisplay
    {
        get
        {
            if (!Uri.TryCreate(Broker, UriKind.Absolute, out var uri))
                return Broker;
            var user = uri.UserInfo.Split(':')[0];
            return new UriBuilder(uri) { UserName = user, Password = "" }.Uri.ToString().Replace($"{user}@", string.IsNullOrEmpty(user) ? "" : $"{user}:***@", StringComparison.Ordinal);
        }
    }

    /// <summary>The saga Redis's configuration string without its password, for messages and logs.</summary>
    public string RedisForDisplay => RedisWithoutPassword(Redis);

    /// <summary>The payload Redis's configuration string without its password, for messages and logs.</summary>
    public string PayloadRedisForDisplay => RedisWithoutPassword(PayloadRedis);

    private static string RedisWithoutPassword(string configuration) =>
        string.Join(',', configuration.Split(',').Select(part =>
            part.TrimStart().StartsWith("password=", StringComparison.OrdinalIgnoreCase) ? "password=***" : part));

    /// <summary>Why the broker URI is unusable, or null.</summary>
    public string? BrokerProblem()
    {
        if (!Uri.TryCreate(Broker, UriKind.Absolute, out var uri) || (uri.Scheme != "amqp" && uri.Scheme != "amqps"))
            return $"ICOSFL_BROKER / --broker must be an amqp:// or amqps:// URI, got '{Broker}'";
        return null;
    }

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
