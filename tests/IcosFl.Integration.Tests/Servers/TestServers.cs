using System.Diagnostics;
using Testcontainers.RabbitMq;
using Testcontainers.Redis;

namespace IcosFl.Integration.Tests.Servers;

/// <summary>
/// The RabbitMQ and Redis (and a second Redis for payloads) the integration tests run against: the private servers that
/// <c>tests/run.sh</c> started (ICOSFL_TEST_* variables), or, where those are not set and Docker
/// answers, containers started here with Testcontainers.
/// </summary>
public sealed class TestServers : IAsyncLifetime
{
    public const string BrokerVariable = "ICOSFL_TEST_BROKER";
    public const string ManagementVariable = "ICOSFL_TEST_RABBITMQ_MANAGEMENT";
    public const string RedisVariable = "ICOSFL_TEST_REDIS";
    public const string RabbitMqControlVariable = "ICOSFL_TEST_RABBITMQ_CTL";
    public const string RedisControlVariable = "ICOSFL_TEST_REDIS_CTL";
    public const string PayloadRedisVariable = "ICOSFL_TEST_PAYLOAD_REDIS";

    RabbitMqContainer? _rabbitMqContainer;
    RedisContainer? _redisContainer;
    RedisContainer? _payloadRedisContainer;
    string? _payloadRedisConfiguration;

    /// <summary>AMQP address with credentials, e.g. amqp://guest:guest@127.0.0.1:5673/.</summary>
    public Uri BrokerUri { get; private set; } = null!;

    /// <summary>RabbitMQ management API base address (credentials are the broker's, see <see cref="BrokerUri"/>).</summary>
    public Uri ManagementUri { get; private set; } = null!;

    /// <summary>StackExchange.Redis configuration string, e.g. 127.0.0.1:6380.</summary>
    public string RedisConfiguration { get; private set; } = null!;

    /// <summary>
    /// A second Redis, as a deployment's payload Redis (claim checks, no persistence), e.g. 127.0.0.1:6381.
    /// Throws, naming the variable, where the caller named servers of its own without one.
    /// </summary>
    public string PayloadRedisConfiguration => _payloadRedisConfiguration
        ?? throw new InvalidOperationException($"No payload Redis: {PayloadRedisVariable} is not set (tests/run.sh sets it to a second private Redis).");

    /// <summary>Stops and starts the broker (for failure tests).</summary>
    public ServerControl RabbitMq { get; private set; } = null!;

    /// <summary>Stops and starts Redis (for failure tests).</summary>
    public ServerControl Redis { get; private set; } = null!;

    /// <summary>Where the servers come from: "tests/run.sh" or "Testcontainers".</summary>
    public string Source { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var broker = Environment.GetEnvironmentVariable(BrokerVariable);
        var redis = Environment.GetEnvironmentVariable(RedisVariable);
        if (!string.IsNullOrWhiteSpace(broker) && !string.IsNullOrWhiteSpace(redis))
        {
            UseServersFromEnvironment(broker, redis);
            return;
        }

        if (!DockerMayAnswer())
            throw new InvalidOperationException(NoServersMessage("no Docker engine found (no DOCKER_HOST, no /var/run/docker.sock)"));

        try
        {
            await StartContainersAsync();
        }
        catch (Exception exception)
        {
            throw new InvalidOperationException(NoServersMessage($"Testcontainers could not start them ({exception.Message})"), exception);
        }
    }

    public async Task DisposeAsync()
    {
        if (_rabbitMqContainer is not null)
            await _rabbitMqContainer.DisposeAsync();
        if (_redisContainer is not null)
            await _redisContainer.DisposeAsync();
        if (_payloadRedisContainer is not null)
            await _payloadRedisContainer.DisposeAsync();
    }

    void UseServersFromEnvironment(string broker, string redis)
    {
        if (!Uri.TryCreate(broker, UriKind.Absolute, out var brokerUri) || brokerUri.Scheme is not ("amqp" or "amqps"))
            throw new InvalidOperationException($"{BrokerVariable} must be an amqp:// address such as amqp://guest:guest@127.0.0.1:5673/, was '{broker}'.");

        var management = Environment.GetEnvironmentVariable(ManagementVariable);
        Uri? managementUri = null;
        if (!string.IsNullOrWhiteSpace(management) && !Uri.TryCreate(management, UriKind.Absolute, out managementUri))
            throw new InvalidOperationException($"{ManagementVariable} must be an http:// address such as http://127.0.0.1:15673, was '{management}'.");

        BrokerUri = brokerUri;
        // Without the variable, RabbitMQ's default management port on the broker's host.
        ManagementUri = managementUri ?? new Uri($"http://{brokerUri.Host}:15672");
        RedisConfiguration = redis;
        _payloadRedisConfiguration = Environment.GetEnvironmentVariable(PayloadRedisVariable) is { Length: > 0 } payloads ? payloads : null;
        RabbitMq = ServerControl.FromScript("RabbitMQ", Environment.GetEnvironmentVariable(RabbitMqControlVariable), RabbitMqControlVariable);
        Redis = ServerControl.FromScript("Redis", Environment.GetEnvironmentVariable(RedisControlVariable), RedisControlVariable);
        Source = "tests/run.sh";
    }

    async Task StartContainersAsync()
    {
        const int managementPort = 15672;
        // Not guest: RabbitMQ admits guest only over loopback, and the container's network is not.
        _rabbitMqContainer = new RabbitMqBuilder("rabbitmq:3.13-management")
            .WithUsername("icosfl")
            .WithPassword("icosfl")
            .WithPortBinding(managementPort, true)
            .Build();
        _redisContainer = new RedisBuilder("redis:7.0").Build();
        _payloadRedisContainer = new RedisBuilder("redis:7.0").Build();

        await Task.WhenAll(_rabbitMqContainer.StartAsync(), _redisContainer.StartAsync(), _payloadRedisContainer.StartAsync());
        _payloadRedisConfiguration = _payloadRedisContainer.GetConnectionString();

        void ReadAddresses()
        {
            BrokerUri = new Uri(_rabbitMqContainer.GetConnectionString());
            ManagementUri = new Uri($"http://{_rabbitMqContainer.Hostname}:{_rabbitMqContainer.GetMappedPublicPort(managementPort)}");
            RedisConfiguration = _redisContainer.GetConnectionString();
        }

        ReadAddresses();
        // A restarted container gets new host ports: the addresses are read again after each start.
        RabbitMq = new ServerControl("RabbitMQ", () => _rabbitMqContainer.StopAsync(), async () =>
        {
            await _rabbitMqContainer.StartAsync();
            ReadAddresses();
        });
        Redis = new ServerControl("Redis", () => _redisContainer.StopAsync(), async () =>
        {
            await _redisContainer.StartAsync();
            ReadAddresses();
        });
        Source = "Testcontainers";
    }

    static bool DockerMayAnswer() =>
        !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("DOCKER_HOST"))
        || File.Exists("/var/run/docker.sock")
        || OperatingSystem.IsWindows();

    static string NoServersMessage(string why) =>
        $"The integration tests need RabbitMQ and Redis, and {why}. Run the tests with tests/run.sh, which starts private "
        + $"servers and sets {BrokerVariable}, {ManagementVariable} and {RedisVariable}; or set those variables to servers of your own.";
}

/// <summary>Stops and starts one test server.</summary>
public sealed class ServerControl
{
    readonly Func<Task> _stop;
    readonly Func<Task> _start;

    public ServerControl(string name, Func<Task> stop, Func<Task> start)
    {
        Name = name;
        _stop = stop;
        _start = start;
    }

    public string Name { get; }

    public Task StopAsync() => _stop();

    public Task StartAsync() => _start();

    internal static ServerControl FromScript(string name, string? script, string variable)
    {
        Task Run(string verb)
        {
            if (string.IsNullOrWhiteSpace(script))
                throw new InvalidOperationException($"Cannot {verb} {name}: {variable} is not set (tests/run.sh sets it to a start|stop|kill script).");
            return RunScriptAsync(script, verb);
        }

        return new ServerControl(name, () => Run("stop"), () => Run("start"));
    }

    static async Task RunScriptAsync(string script, string verb)
    {
        using var process = Process.Start(new ProcessStartInfo(script, verb)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException($"Could not run {script} {verb}.");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{script} {verb} exited with {process.ExitCode}: {await stderr}{await stdout}");
    }
}

[CollectionDefinition(Name)]
public sealed class ServersCollection : ICollectionFixture<TestServers>
{
    public const string Name = "servers";
}
