namespace IcosFl.Infrastructure.Messaging;

/// <summary>
/// Where a deployed node finds the broker, Redis and Seq. Read from ICOSFL_BROKER (an amqp URI with
/// credentials and vhost), ICOSFL_REDIS (a StackExchange.Redis configuration string) and
/// ICOSFL_SEQ_URL, overridable by command-line flags; localhost defaults.
/// </summary>
public sealed record ConnectionSettings
{
    public const string DefaultBroker = "amqp://guest:guest@localhost:5672/";
    public const string DefaultRedis = "localhost:6379";

    public string Broker { get; init; } = DefaultBroker;
    public string Redis { get; init; } = DefaultRedis;
    public string? SeqUrl { get; init; }

    public static ConnectionSettings FromEnvironment(string? broker = null, string? redis = null, string? seqUrl = null) => new()
    {
        Broker = broker ?? Env("ICOSFL_BROKER") ?? DefaultBroker,
        Redis = redis ?? Env("ICOSFL_REDIS") ?? DefaultRedis,
        SeqUrl = seqUrl ?? Env("ICOSFL_SEQ_URL"),
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

    /// <summary>Why the broker URI is unusable, or null.</summary>
    public string? BrokerProblem()
    {
        if (!Uri.TryCreate(Broker, UriKind.Absolute, out var uri) || (uri.Scheme != "amqp" && uri.Scheme != "amqps"))
            return $"ICOSFL_BROKER / --broker must be an amqp:// or amqps:// URI, got '{Broker}'";
        return null;
    }

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
