namespace IcosFl.Benchmarks;

/// <summary>
/// The RabbitMQ and Redis the benchmarks run against: ICOSFL_BROKER / ICOSFL_REDIS / ICOSFL_PAYLOAD_REDIS (as
/// every icosfl process), else the test servers of tests/run.sh (ICOSFL_TEST_*), else localhost.
/// The vhost should hold no running IcosFl controller: the overhead suite hosts its own.
/// </summary>
public sealed record BenchServers(Uri Broker, string Redis, string PayloadRedis)
{
    public static BenchServers FromEnvironment()
    {
        var broker = Env("ICOSFL_BROKER") ?? Env("ICOSFL_TEST_BROKER") ?? "amqp://guest:guest@localhost:5672/";
        if (!Uri.TryCreate(broker, UriKind.Absolute, out var uri) || uri.Scheme is not ("amqp" or "amqps"))
            throw new ArgumentException($"ICOSFL_BROKER must be an amqp:// URI, got '{broker}'");
        var redis = Env("ICOSFL_REDIS") ?? Env("ICOSFL_TEST_REDIS") ?? "localhost:6379";
        // Claim-check payloads: their own Redis when there is one (as compose deploys it), else the same.
        return new BenchServers(uri, redis, Env("ICOSFL_PAYLOAD_REDIS") ?? Env("ICOSFL_TEST_PAYLOAD_REDIS") ?? redis);
    }

    public string BrokerForDisplay => $"{Broker.Scheme}://{Broker.Host}:{Broker.Port}{Broker.AbsolutePath}";

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
