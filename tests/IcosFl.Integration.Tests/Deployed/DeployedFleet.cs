using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using IcosFl.Controller;
using IcosFl.Controller.Rounds;
using IcosFl.Controller.Sagas;
using IcosFl.Controller.Status;
using IcosFl.Controller.Workers;
using IcosFl.Integration.Tests.Servers;
using IcosFl.TestKit;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace IcosFl.Integration.Tests.Deployed;

/// <summary>
/// A real deployment for one test: the icosfl controller and worker processes, talking through the
/// test RabbitMQ (a virtual host of the test's own) and Redis (a database of the test's own), so tests
/// never see each other's workers, queues or sagas. Optionally with a payload Redis of its own (the same
/// database number on the test's second Redis), given to the controller as ICOSFL_PAYLOAD_REDIS. Workers are given the
/// broker only.
/// </summary>
public sealed class DeployedFleet : IAsyncDisposable
{
    private static int _nextDatabase;
    private readonly TestServers _servers;
    private readonly ITestOutputHelper _output;
    private readonly List<(string Name, Process Process)> _processes = [];
    private readonly int _database;

    private DeployedFleet(TestServers servers, ITestOutputHelper output, string vhost, int database, IConnectionMultiplexer redis,
        IConnectionMultiplexer? payloadRedis)
    {
        _servers = servers;
        _output = output;
        VirtualHost = vhost;
        _database = database;
        Redis = redis;
        PayloadRedis = payloadRedis;
        LogDir = Directory.CreateTempSubdirectory("icosfl-deployed-").FullName;
        Status = new FederationStatusReader(new RedisSagaReader(redis), new RedisWorkerRegistry(redis), new ControllerOptions(),
            TimeProvider.System, new RedisRoundLedger(redis));
    }

    public string VirtualHost { get; }
    public TestServers ServersForTests => _servers;
    public IConnectionMultiplexer Redis { get; }

    /// <summary>The fleet's payload Redis, or null when payloads share <see cref="Redis"/>.</summary>
    public IConnectionMultiplexer? PayloadRedis { get; }
    public string LogDir { get; }
    public FederationStatusReader Status { get; }

    public string BrokerUri => new UriBuilder(_servers.BrokerUri) { Path = "/" + Uri.EscapeDataString(VirtualHost) }.Uri.ToString();
    public string RedisConfiguration => $"{_servers.RedisConfiguration},defaultDatabase={_database}";
    public string? PayloadRedisConfiguration => PayloadRedis is null ? null : $"{_servers.PayloadRedisConfiguration},defaultDatabase={_database}";

    public static async Task<DeployedFleet> CreateAsync(TestServers servers, ITestOutputHelper output, bool payloadRedisOfItsOwn = false)
    {
        var vhost = $"icosfl-test-{Guid.NewGuid():N}";
        using var http = ManagementClient(servers);
        var user = servers.BrokerUri.UserInfo.Split(':')[0];
        (await http.PutAsync($"api/vhosts/{Uri.EscapeDataString(vhost)}", null)).EnsureSuccessStatusCode();
        (await http.PutAsJsonAsync($"api/permissions/{Uri.EscapeDataString(vhost)}/{user}",
            new { configure = ".*", write = ".*", read = ".*" })).EnsureSuccessStatusCode();
        // Databases 1..15, round robin; each test starts from an empty one.
        var database = 1 + (Interlocked.Increment(ref _nextDatabase) % 15);
        var redis = await ConnectionMultiplexer.ConnectAsync($"{servers.RedisConfiguration},defaultDatabase={database},allowAdmin=true");
        foreach (var endpoint in redis.GetEndPoints())
            await redis.GetServer(endpoint).FlushDatabaseAsync(database);
        IConnectionMultiplexer? payloadRedis = null;
        if (payloadRedisOfItsOwn)
        {
            payloadRedis = await ConnectionMultiplexer.ConnectAsync($"{servers.PayloadRedisConfiguration},defaultDatabase={database},allowAdmin=true");
            foreach (var endpoint in payloadRedis.GetEndPoints())
                await payloadRedis.GetServer(endpoint).FlushDatabaseAsync(database);
        }
        return new DeployedFleet(servers, output, vhost, database, redis, payloadRedis);
    }

    /// <summary>
    /// The remote TCP ports of the process's open connections (its socket inodes in /proc/PID/fd, looked up in
    /// /proc/PID/net/tcp and tcp6): what it is connected to now, whatever its settings say.
    /// </summary>
    public static IReadOnlySet<int> RemotePortsOf(Process process)
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var fd in Directory.EnumerateFiles($"/proc/{process.Id}/fd"))
        {
            if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("socket:[", StringComparison.Ordinal))
                inodes.Add(target["socket:[".Length..^1]);
        }

        var ports = new HashSet<int>();
        foreach (var table in new[] { "tcp", "tcp6" })
        {
            foreach (var line in File.ReadLines($"/proc/{process.Id}/net/{table}").Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode; state 01 = established.
                if (fields.Length > 9 && fields[3] == "01" && inodes.Contains(fields[9]))
                    ports.Add(Convert.ToInt32(fields[2].Split(':')[1], 16));
            }
        }

        return ports;
    }

    public static HttpClient ManagementClient(TestServers servers)
    {
        var user = Uri.UnescapeDataString(servers.BrokerUri.UserInfo.Split(':')[0]);
        var password = Uri.UnescapeDataString(servers.BrokerUri.UserInfo.Split(':')[1]);
        var http = new HttpClient { BaseAddress = servers.ManagementUri, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization =
            new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        return http;
    }

    /// <summary>
    /// The controller, in the shared-user development mode: the fleet's workers all log in as the test servers' own
    /// user (one broker identity per node is tested in Broker/Enrolling_nodes).
    /// </summary>
    public Process StartController(params string[] extra) =>
        Start("controller", ["controller", "--data", "synthetic", "--http", "off",
            "--shared-worker-user", Uri.UnescapeDataString(_servers.BrokerUri.UserInfo.Split(':')[0]), .. extra]);

    /// <summary>A worker on synthetic data, unless <paramref name="extra"/> says where its data comes from (--data).</summary>
    public Process StartWorker(string id, params string[] extra) =>
        Start(id, ["worker", "--id", id, "--heartbeat-interval", "1", .. extra.Contains("--data") ? extra : ["--data", "synthetic", .. extra]]);

    /// <summary>
    /// A node process of this fleet given its own broker URI (e.g. amqps:// to the TLS listener, with this fleet's vhost)
    /// and environment (e.g. ICOSFL_BROKER_CA, ICOSFL_BROKER_CERT).
    /// </summary>
    public Process StartOver(string name, string broker, IReadOnlyDictionary<string, string> environment, params string[] args) =>
        Start(name, args, broker, environment);

    /// <summary>
    /// The icosfl CLI built beside the tests, pointed at this fleet's vhost (or <paramref name="broker"/>) and Redis
    /// database; a worker at the broker only, with no Redis setting at all, in its arguments or its environment (issue 16:
    /// a worker reaches nothing but the broker).
    /// </summary>
    private ProcessStartInfo CliStartInfo(IReadOnlyList<string> args, string? broker = null)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "icosfl.dll"));
        var worker = args.Count > 0 && args[0] == "worker";
        foreach (var a in args.Concat(worker ? ["--broker", broker ?? BrokerUri] : ["--broker", broker ?? BrokerUri, "--redis", RedisConfiguration]))
            info.ArgumentList.Add(a);
        // From the environment, as a deployment gives it; never one inherited from the shell running the tests.
        foreach (var name in new[] { "ICOSFL_REDIS", "ICOSFL_PAYLOAD_REDIS", "ICOSFL_NODE_REDIS" })
            info.Environment.Remove(name);
        if (!worker && PayloadRedisConfiguration is { } payloads)
            info.Environment["ICOSFL_PAYLOAD_REDIS"] = payloads;
        return info;
    }

    private Process Start(string name, string[] args, string? broker = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = CliStartInfo(args, broker);
        foreach (var (variable, value) in environment ?? new Dictionary<string, string>())
            info.Environment[variable] = value;
        info.ArgumentList.Add("--log-dir");
        info.ArgumentList.Add(LogDir);
        info.Environment["ICOSFL_CONNECT_TIMEOUT"] = "30";
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {name}");
        // Drain the pipes so a chatty process never blocks on a full one; keep the tail for failures.
        process.OutputDataReceived += (_, e) => { };
        process.ErrorDataReceived += (_, e) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        lock (_processes)
            _processes.Add((name, process));
        return process;
    }

    /// <summary>
    /// Waits until the controller consumes StartFederation and the given workers are alive in its
    /// registry (their heartbeats reached it), so a federation started now sees them.
    /// </summary>
    public async Task ReadyAsync(params string[] workers)
    {
        using var http = ManagementClient(_servers);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            var response = await http.GetAsync($"api/queues/{Uri.EscapeDataString(VirtualHost)}/icosfl-start-federation");
            var consumers = response.IsSuccessStatusCode
                ? (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).TryGetProperty("consumers", out var c) ? c.GetInt32() : 0
                : 0;
            var alive = (await Status.WorkersAsync()).Where(w => w.Alive).Select(w => w.Id).ToHashSet();
            if (consumers > 0 && workers.All(alive.Contains))
                return;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"fleet not ready after 90 s: controller consumers {consumers}, workers alive [{string.Join(", ", alive)}]\n{LogTail()}");
            await Task.Delay(200);
        }
    }

    /// <summary>SIGKILL: no goodbye, no flush, as when a node loses power.</summary>
    public static void KillHard(Process process)
    {
        process.Kill(entireProcessTree: true);
        process.WaitForExit(10_000);
    }

    /// <summary>Runs the CLI once (start, status, ...) against this fleet and returns its stdout.</summary>
    public async Task<string> RunCliAsync(params string[] args)
    {
        var (exit, stdout, stderr) = await RunCliAsync(new Dictionary<string, string>(), args);
        Assert.True(exit == 0, $"icosfl {string.Join(' ', args)} exited {exit}: {stderr}");
        return stdout;
    }

    /// <summary>Runs the CLI once against this fleet with extra environment variables and returns how it ended.</summary>
    public Task<(int Exit, string StdOut, string StdErr)> RunCliAsync(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        RunCliOverAsync(BrokerUri, environment, args);

    /// <summary>Runs the CLI once with its own broker URI and environment, and returns how it ended.</summary>
    public async Task<(int Exit, string StdOut, string StdErr)> RunCliOverAsync(string broker, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var info = CliStartInfo(args, broker);
        foreach (var (name, value) in environment)
            info.Environment[name] = value;
        var (exit, stdout, stderr) = await ChildProcess.RunAsync(info, TimeSpan.FromMinutes(1));
        return (exit, stdout.Trim(), stderr.Trim());
    }

    /// <summary>Polls the federation's status (read from Redis as `icosfl status` does) until the condition holds.</summary>
    public async Task<FederationStatus> WaitForAsync(Guid federationId, Func<FederationStatus, bool> condition, TimeSpan timeout, string what)
    {
        var reached = await Eventually.UntilAsync(() => Status.GetAsync(federationId), s => s is not null && condition(s), timeout,
            $"federation {federationId}: {what}", TimeSpan.FromMilliseconds(200),
            // Ended without meeting the condition: it never will.
            hopeless: s => s is { State: "Completed" or "Failed" or "Stopped" },
            describe: s => (s is null ? "none" : Cli.Commands.StatusCommand.Describe(s)) + Environment.NewLine + LogTail());
        return reached!;
    }

    public Task<FederationState?> SagaAsync(Guid federationId) => new RedisSagaReader(Redis).FederationAsync(federationId);

    public string LogTail(int lines = 40)
    {
        var sb = new StringBuilder();
        foreach (var file in Directory.EnumerateFiles(LogDir, "*.clef"))
        {
            sb.AppendLine($"--- {Path.GetFileName(file)}");
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            foreach (var line in all.Where(l => !l.Contains("\"@l\":\"Debug\"")).TakeLast(lines))
                sb.AppendLine(line);
        }
        return sb.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (_, process) in _processes)
        {
            try
            {
                if (!process.HasExited)
                    KillHard(process);
            }
            catch (InvalidOperationException)
            {
            }
            process.Dispose();
        }
        try
        {
            using var http = ManagementClient(_servers);
            await http.DeleteAsync($"api/vhosts/{Uri.EscapeDataString(VirtualHost)}");
        }
        catch (HttpRequestException e)
        {
            _output.WriteLine($"could not delete vhost {VirtualHost}: {e.Message}");
        }
        Redis.Dispose();
        PayloadRedis?.Dispose();
    }
}
