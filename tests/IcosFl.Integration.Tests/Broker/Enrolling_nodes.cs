using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using IcosFl.Contracts;
using IcosFl.Controller;
using IcosFl.Controller.Rounds;
using IcosFl.Controller.Workers;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Infrastructure.Weights;
using IcosFl.Integration.Tests.Deployed;
using IcosFl.Integration.Tests.Servers;
using IcosFl.Learning;
using IcosFl.Learning.NodeData;
using IcosFl.TestKit;
using IcosFl.Worker;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace IcosFl.Integration.Tests.Broker;

/// <summary>
/// Issue 16 on the real broker: nodes enrolled with <c>icosfl node add</c> (the CLI process, through the management
/// API) each have a broker user of their own; a deployed controller believes the broker-checked user_id, not the
/// WorkerId of the body; RabbitMQ itself refuses a forged user_id and another node's queue; <c>icosfl node revoke</c>
/// closes the node's connection and the controller drops it.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed partial class Enrolling_nodes(TestServers servers, ITestOutputHelper output) : IAsyncLifetime
{
    private BrokerDefinitions _definitions = null!;
    private IConnectionMultiplexer _redis = null!;
    private readonly List<string> _users = [];
    private readonly CapturedLog _log = new();

    public async Task InitializeAsync()
    {
        _definitions = await BrokerDefinitions.LoadAsync(servers);
        _redis = await ConnectionMultiplexer.ConnectAsync(servers.RedisConfiguration);
    }

    public async Task DisposeAsync()
    {
        // Broker users are not per vhost: remove the ones this test enrolled.
        using var http = DeployedFleet.ManagementClient(servers);
        foreach (var user in _users)
            await http.DeleteAsync($"api/users/{Uri.EscapeDataString(user)}");
        await _definitions.DisposeAsync();
        _redis.Dispose();
    }

    [Fact]
    public async Task A_node_added_with_the_cli_connects_and_runs_as_a_worker()
    {
        var id = NewId("run");
        var node = await EnrolAsync(id);
        using var controller = await StartControllerAsync();
        using var worker = await StartWorkerAsync(id, node);
        try
        {
            var info = await WaitForRegistryAsync(id, w => w is { Stopped: false }, TimeSpan.FromSeconds(30), "the enrolled worker's heartbeat in the registry");
            Assert.True(info!.IsAlive(DateTimeOffset.UtcNow, 2));
            // The management API lists a connection once the broker's statistics have caught up (up to 5 s).
            using (var http = DeployedFleet.ManagementClient(servers))
                await WaitUntilAsync(async () => await ConnectionsOfAsync(http, BrokerIdentity.NodeUser(id)) > 0, "the node's connection listed by the broker");

            var listed = await CliAsync("node", "ls", "--json", "--broker", _definitions.AdminUri.ToString(), "--management", servers.ManagementUri.ToString(),
                "--redis", servers.RedisConfiguration);
            Assert.Equal(0, listed.Exit);
            var mine = JsonDocument.Parse(listed.Stdout).RootElement.EnumerateArray().Single(n => n.GetProperty("workerId").GetString() == id);
            Assert.Equal(BrokerIdentity.NodeUser(id), mine.GetProperty("user").GetString());
            Assert.True(mine.GetProperty("connections").GetInt32() >= 1, listed.Stdout);
            Assert.NotEqual(JsonValueKind.Null, mine.GetProperty("lastHeartbeat").ValueKind);
        }
        finally
        {
            await worker.StopAsync();
            await controller.StopAsync();
        }
    }

    [Fact]
    public async Task Node_add_refuses_bad_ids_existing_nodes_and_wrong_admin_credentials()
    {
        var bad = await CliAsync("node", "add", "edge 1;", "--broker", _definitions.AdminUri.ToString(), "--management", servers.ManagementUri.ToString());
        Assert.Equal(2, bad.Exit);
        Assert.Contains("'edge 1;' contains ' '", bad.Stderr);

        var id = NewId("dup");
        await EnrolAsync(id);
        var again = await CliAsync("node", "add", id, "--broker", _definitions.AdminUri.ToString(), "--management", servers.ManagementUri.ToString());
        Assert.Equal(2, again.Exit);
        Assert.Contains($"node {id} is enrolled already", again.Stderr);

        var unknown = await CliAsync("node", "revoke", NewId("none"), "--broker", _definitions.AdminUri.ToString(), "--management", servers.ManagementUri.ToString());
        Assert.Equal(2, unknown.Exit);
        Assert.Contains("is enrolled (no broker user", unknown.Stderr);

        var wrongPassword = new UriBuilder(_definitions.AdminUri) { Password = "not-the-password" }.Uri.ToString();
        var unauthorized = await CliAsync("node", "add", NewId("auth"), "--broker", wrongPassword, "--management", servers.ManagementUri.ToString());
        Assert.Equal(3, unauthorized.Exit);
        Assert.Contains("401 Unauthorized", unauthorized.Stderr);

        var unreachable = await CliAsync("node", "ls", "--broker", _definitions.AdminUri.ToString(), "--management", "http://127.0.0.1:1/");
        Assert.Equal(3, unreachable.Exit);
        Assert.Contains("cannot reach the RabbitMQ management API at http://127.0.0.1:1/", unreachable.Stderr);
    }

    [Fact]
    public async Task A_node_speaking_for_another_node_or_a_phantom_is_rejected_and_changes_nothing()
    {
        var (a, b) = (NewId("a"), NewId("b"));
        var nodeA = await EnrolAsync(a);
        var nodeB = await EnrolAsync(b);
        using var controller = await StartControllerAsync();
        using var workerB = await StartWorkerAsync(b, nodeB);
        var ledger = controller.Services.GetRequiredService<IRoundLedger>();
        var registry = controller.Services.GetRequiredService<IWorkerRegistry>();
        // Node A's own bus, stamping its own (genuine) user: what a compromised node can send.
        var busA = await StartBusAsync(nodeA);
        try
        {
            await WaitForRegistryAsync(b, w => w is { Stopped: false }, TimeSpan.FromSeconds(30), "node B alive");
            var round = Guid.NewGuid();
            await ledger.OpenAsync(round, RoundPhase.Training, [a, b]);
            await ledger.OpenAsync(round, RoundPhase.Evaluation, [a, b]);
            var phantom = NewId("phantom");
            var weights = await new WeightTransport(new InMemoryClaimCheckStore(), new WeightTransportOptions())
                .PackAsync(LocalTraining.InitialWeights(RunConfig.Default), "forged");

            await busA.Publish(new WorkerHeartbeat { WorkerId = phantom, Host = "nowhere", DataPoints = new Dictionary<string, int>(), Timestamp = DateTimeOffset.UtcNow });
            await busA.Publish(new WorkerStopping { WorkerId = b, Timestamp = DateTimeOffset.UtcNow.AddMinutes(1) });
            await busA.Publish(Update(round, b, weights));
            await busA.Publish(new TrainingDeclined { FederationId = Guid.Empty, RoundId = round, Round = 1, WorkerId = b, Reason = "forged" });
            await busA.Publish(new EvaluationReported { FederationId = Guid.Empty, RoundId = round, Round = 1, WorkerId = b, DeclinedReason = "forged" });

            var userA = BrokerIdentity.NodeUser(a);
            foreach (var (type, claimed) in new[] { ("WorkerHeartbeat", phantom), ("WorkerStopping", b), ("WeightUpdateSubmitted", b), ("TrainingDeclined", b), ("EvaluationReported", b) })
                await _log.WaitForAsync(l => l.Contains($"{type} claiming worker {claimed} rejected: authenticated broker user {userA}"), TimeSpan.FromSeconds(20),
                    $"the rejection of the forged {type}");
            Assert.Contains(_log.Lines, l => l.Contains($"WeightUpdateSubmitted claiming worker {b} rejected: authenticated broker user {userA}: user {userA} is the node user of worker {a}, not of {b}"));

            // A's own update in its own name counts: the check lets the genuine sender through.
            await busA.Publish(Update(round, a, weights));
            await WaitUntilAsync(async () => (await ledger.ReadAsync(round, RoundPhase.Training))!.Updates.Any(u => u.WorkerId == a), "A's own update counted");

            var snapshot = (await ledger.ReadAsync(round, RoundPhase.Training))!;
            Assert.DoesNotContain(snapshot.Updates, u => u.WorkerId == b);
            Assert.Equal(1, snapshot.Answered);
            Assert.Equal(0, (await ledger.ReadAsync(round, RoundPhase.Evaluation))!.Answered);
            var workers = await registry.ListAsync();
            Assert.DoesNotContain(workers, w => w.WorkerId == phantom);
            Assert.True(workers.Single(w => w.WorkerId == b).IsAlive(DateTimeOffset.UtcNow, 2), "node B must still be alive after a forged goodbye");
        }
        finally
        {
            await busA.StopAsync();
            await workerB.StopAsync();
            await controller.StopAsync();
        }
    }

    [Fact]
    public async Task The_broker_refuses_a_publish_with_a_forged_user_id()
    {
        var (a, b) = (NewId("a"), NewId("b"));
        var nodeA = await EnrolAsync(a);
        await DeclareAsAdminAsync("IcosFl.Contracts:WorkerHeartbeat");
        await using var connection = await new ConnectionFactory { Uri = nodeA }.CreateConnectionAsync();

        await using (var own = await connection.CreateChannelAsync(new CreateChannelOptions(true, true)))
            await own.BasicPublishAsync("IcosFl.Contracts:WorkerHeartbeat", "", false, new BasicProperties { UserId = BrokerIdentity.NodeUser(a) }, "{}"u8.ToArray());

        await using var forged = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
        var refused = await Assert.ThrowsAnyAsync<Exception>(async () =>
            await forged.BasicPublishAsync("IcosFl.Contracts:WorkerHeartbeat", "", false, new BasicProperties { UserId = BrokerIdentity.NodeUser(b) }, "{}"u8.ToArray()));
        var reason = forged.CloseReason ?? (refused as OperationInterruptedException)?.ShutdownReason;
        Assert.NotNull(reason);
        Assert.Equal(406, reason!.ReplyCode);
        Assert.Contains("PRECONDITION_FAILED", reason.ReplyText);
        Assert.Contains("user_id property set to 'icosfl-node-", reason.ReplyText);
    }

    [Fact]
    public async Task The_broker_refuses_a_node_reading_another_nodes_queue()
    {
        var (a, b) = (NewId("a"), NewId("b"));
        var nodeA = await EnrolAsync(a);
        await EnrolAsync(b);
        await using (var admin = await new ConnectionFactory { Uri = _definitions.AdminUri }.CreateConnectionAsync())
        await using (var adminChannel = await admin.CreateChannelAsync())
        {
            await adminChannel.QueueDeclareAsync(WorkerRegistration.EndpointName(a), durable: true, exclusive: false, autoDelete: false);
            await adminChannel.QueueDeclareAsync(WorkerRegistration.EndpointName(b), durable: true, exclusive: false, autoDelete: false);
        }
        await using var connection = await new ConnectionFactory { Uri = nodeA }.CreateConnectionAsync();

        await using (var own = await connection.CreateChannelAsync())
            await own.BasicConsumeAsync(WorkerRegistration.EndpointName(a), true, new AsyncEventingBasicConsumer(own));

        await using var other = await connection.CreateChannelAsync();
        var refused = await Assert.ThrowsAsync<OperationInterruptedException>(() =>
            other.BasicConsumeAsync(WorkerRegistration.EndpointName(b), true, new AsyncEventingBasicConsumer(other)));
        Assert.Equal(403, refused.ShutdownReason!.ReplyCode);
        Assert.Contains($"queue '{WorkerRegistration.EndpointName(b)}'", refused.ShutdownReason.ReplyText);
    }

    [Fact]
    public async Task A_revoked_node_is_disconnected_and_dropped_from_the_registry()
    {
        var id = NewId("rev");
        var node = await EnrolAsync(id);
        using var controller = await StartControllerAsync();
        using var worker = await StartWorkerAsync(id, node, heartbeatInterval: 2);
        using var http = DeployedFleet.ManagementClient(servers);
        var user = BrokerIdentity.NodeUser(id);
        try
        {
            await WaitForRegistryAsync(id, w => w is { Stopped: false }, TimeSpan.FromSeconds(30), "the node alive before revocation");
            await WaitUntilAsync(async () => (await ConnectionsOfAsync(http, user)) > 0, "the node's connection listed by the broker");

            var revoked = Stopwatch.StartNew();
            var result = await CliAsync("node", "revoke", id, "--broker", _definitions.AdminUri.ToString(), "--management", servers.ManagementUri.ToString());
            Assert.True(result.Exit == 0, result.Stderr);
            Assert.Contains($"node {id} revoked: broker user {user} deleted, 1 connection(s) closed", result.Stderr);

            await WaitUntilAsync(async () => (await ConnectionsOfAsync(http, user)) == 0, "no connection of the revoked user");
            Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync($"api/users/{user}")).StatusCode);
            var info = await WaitForRegistryAsync(id, w => w is { Stopped: true }, TimeSpan.FromSeconds(2), "the revoked node dropped from the live workers within one heartbeat interval");
            Assert.False(info!.IsAlive(DateTimeOffset.UtcNow, 2));
            output.WriteLine($"dropped {revoked.ElapsedMilliseconds} ms after the revoke command started");
            // It stays dropped: the worker cannot log in again (its host keeps trying), and neither can anything holding its credentials.
            var refused = await Assert.ThrowsAsync<BrokerUnreachableException>(async () => await new ConnectionFactory { Uri = node }.CreateConnectionAsync());
            Assert.IsType<AuthenticationFailureException>(refused.InnerException);
            await Task.Delay(TimeSpan.FromSeconds(5));
            Assert.True((await controller.Services.GetRequiredService<IWorkerRegistry>().ListAsync()).Single(w => w.WorkerId == id).Stopped);
        }
        finally
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await worker.StopAsync(stop.Token);
            await controller.StopAsync();
        }
    }

    [Fact]
    public async Task Node_add_out_writes_the_credentials_to_a_new_file_only_its_owner_reads()
    {
        var id = NewId("out");
        var file = Path.Combine(Directory.CreateTempSubdirectory("icosfl-node-").FullName, $"{id}.env");
        var added = await CliAsync("node", "add", id, "--out", file, "--broker", _definitions.AdminUri.ToString(), "--management", servers.ManagementUri.ToString());
        Assert.True(added.Exit == 0, added.Stderr);
        _users.Add(BrokerIdentity.NodeUser(id));
        Assert.DoesNotContain("ICOSFL_BROKER", added.Stdout);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        var broker = File.ReadAllLines(file).Single(l => l.StartsWith("ICOSFL_BROKER=", StringComparison.Ordinal))["ICOSFL_BROKER=".Length..];
        // The written credentials log in.
        await using (await new ConnectionFactory { Uri = new Uri(broker) }.CreateConnectionAsync())
        {
        }

        var again = await CliAsync("node", "add", NewId("out"), "--out", file, "--broker", _definitions.AdminUri.ToString(), "--management", servers.ManagementUri.ToString());
        Assert.Equal(2, again.Exit);
        Assert.Contains($"--out {file} exists already", again.Stderr);
    }

    [Fact]
    public async Task A_node_flooding_heartbeats_is_recorded_once_per_gap_and_the_others_stay_alive()
    {
        var (a, b) = (NewId("flood"), NewId("b"));
        var nodeA = await EnrolAsync(a);
        var nodeB = await EnrolAsync(b);
        var recorded = new ConcurrentDictionary<string, int>();
        using var controller = await StartControllerAsync(inner => new CountingRegistry(inner, recorded));
        using var workerB = await StartWorkerAsync(b, nodeB, heartbeatInterval: 0.5);
        var busA = await StartBusAsync(nodeA);
        try
        {
            await WaitForRegistryAsync(b, w => w is { Stopped: false }, TimeSpan.FromSeconds(30), "node B alive");
            var gap = controller.Services.GetRequiredService<ControllerOptions>().HeartbeatMinimumGap;
            const int flood = 20_000;
            var clock = Stopwatch.StartNew();
            var staleness = new List<TimeSpan>();
            // Node A, in its own (genuine) name, as fast as its one connection goes; node B's registry entry is read meanwhile.
            var sending = Task.Run(async () =>
            {
                for (int sent = 0; sent < flood; sent += 500)
                    await Task.WhenAll(Enumerable.Range(0, 500).Select(_ => busA.Publish(new WorkerHeartbeat
                    {
                        WorkerId = a, Host = "flood", DataPoints = new Dictionary<string, int>(), Timestamp = DateTimeOffset.UtcNow,
                    })));
            });
            while (!sending.IsCompleted)
            {
                var seen = (await WaitForRegistryAsync(b, w => w is not null, TimeSpan.FromSeconds(5), "node B"))!.LastHeartbeat;
                staleness.Add(DateTimeOffset.UtcNow - seen);
                await Task.Delay(250);
            }
            await sending;
            var floodSeconds = clock.Elapsed.TotalSeconds;
            // Wait until the queue is drained: A's last heartbeat recorded, the registry no longer changing.
            await WaitForRegistryAsync(a, w => w is not null, TimeSpan.FromSeconds(30), "node A recorded");
            await Task.Delay(TimeSpan.FromSeconds(2));
            var drained = clock.Elapsed.TotalSeconds;
            output.WriteLine($"{flood} heartbeats of {a} published in {floodSeconds:0.0} s; registry writes: {a} {recorded.GetValueOrDefault(a)}, {b} {recorded.GetValueOrDefault(b)}; " +
                $"node B's registry entry at most {staleness.DefaultIfEmpty().Max().TotalMilliseconds:0} ms old over {staleness.Count} reads");

            // At most one write per gap over the time the flood took to arrive (plus the first), not one per message.
            Assert.InRange(recorded.GetValueOrDefault(a), 1, (int)(drained / gap.TotalSeconds) + 2);
            Assert.True(flood > 20 * recorded[a], $"the throttle must drop most of the flood: {recorded[a]} of {flood} recorded");
            // B kept beating through the flood, and the controller kept recording it. (How stale B's entry got is printed,
            // not asserted: 646 ms at most with the throttle, 1,665 ms without, on the 2-core VM; the write count is the check.)
            Assert.True(recorded.GetValueOrDefault(b) >= 2, $"node B's heartbeats recorded during the flood: {recorded.GetValueOrDefault(b)}");
            var registry = controller.Services.GetRequiredService<IWorkerRegistry>();
            Assert.True((await registry.ListAsync()).Single(w => w.WorkerId == b).IsAlive(DateTimeOffset.UtcNow, 2), "node B alive after the flood");
        }
        finally
        {
            await busA.StopAsync();
            await workerB.StopAsync();
            await controller.StopAsync();
        }
    }

    [Fact]
    public void A_nodes_permissions_are_the_shared_worker_users_narrowed_to_its_own_queue()
    {
        var shared = JsonNode.Parse(_definitions.Compose.Text("rabbitmq/definitions.json"))!["permissions"]!.AsArray()
            .Single(p => (string?)p!["user"] == BrokerIdentity.SharedWorkerUser)!;
        var (configure, write, read) = BrokerIdentity.NodePermissions("edge-1.a");
        string Narrowed(string kind) => ((string)shared[kind]!).Replace("icosfl-worker-[^:]+", @"icosfl-worker-edge-1\.a(_error|_skipped)?", StringComparison.Ordinal);
        Assert.Equal(Narrowed("configure"), configure);
        Assert.Equal(Narrowed("write"), write);
        Assert.Equal(Narrowed("read"), read);
        Assert.Matches(read, "icosfl-worker-edge-1.a");
        Assert.DoesNotMatch(read, "icosfl-worker-edge-1xa");
        Assert.DoesNotMatch(read, "icosfl-worker-edge-2");
    }

    private static string NewId(string what) => $"{what}-{Guid.NewGuid():N}"[..14];

    private static WeightUpdateSubmitted Update(Guid round, string workerId, WeightsPayload weights) => new()
    {
        FederationId = Guid.Empty,
        RoundId = round,
        Round = 1,
        WorkerId = workerId,
        Weights = weights,
        NumExamples = 10,
        Metrics = new TrainMetrics(0.1, 1, 1),
    };

    /// <summary>Runs <c>icosfl node add</c> and returns the worker's broker URI it printed.</summary>
    private async Task<Uri> EnrolAsync(string id)
    {
        var result = await CliAsync("node", "add", id, "--broker", _definitions.AdminUri.ToString(), "--management", servers.ManagementUri.ToString());
        Assert.True(result.Exit == 0, $"icosfl node add {id}: exit {result.Exit}: {result.Stderr}");
        _users.Add(BrokerIdentity.NodeUser(id));
        Assert.Contains($"ICOSFL_WORKER_ID={id}", result.Stdout);
        var line = result.Stdout.Split('\n').Single(l => l.StartsWith("ICOSFL_BROKER=", StringComparison.Ordinal));
        var uri = new Uri(line["ICOSFL_BROKER=".Length..].Trim());
        Assert.Equal(BrokerIdentity.NodeUser(id), BrokerIdentity.UserOf(uri.ToString()));
        return uri;
    }

    private async Task<(int Exit, string Stdout, string Stderr)> CliAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "icosfl.dll"));
        foreach (var a in args)
            info.ArgumentList.Add(a);
        info.Environment["ICOSFL_CONNECT_TIMEOUT"] = "10";
        var result = await ChildProcess.RunAsync(info, TimeSpan.FromSeconds(60));
        output.WriteLine($"icosfl {string.Join(' ', args.Where(a => !a.StartsWith("amqp", StringComparison.Ordinal)))} -> {result.ExitCode}\n{result.StdErr}");
        return (result.ExitCode, result.StdOut, result.StdErr);
    }

    private async Task<IHost> StartControllerAsync(Func<IWorkerRegistry, IWorkerRegistry>? wrapRegistry = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ToTestOutput(output, "controller").AddProvider(_log);
        // Each node as its own user: no shared development user accepted.
        builder.Services.AddDeployedController(new ConnectionSettings { Broker = _definitions.ControllerUri.ToString(), Redis = servers.RedisConfiguration },
            _redis, new ControllerOptions(), new InMemoryNodeStore("controller"));
        if (wrapRegistry is not null)
            builder.Services.AddSingleton(wrapRegistry(new RedisWorkerRegistry(_redis)));
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o => o.WaitUntilStarted = true);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>The worker exactly as <c>icosfl worker</c> hosts it, with the credentials node add printed.</summary>
    /// <param name="replace">Changes to the worker's services after AddDeployedWorker (a hostile node's own claim-check store).</param>
    private async Task<IHost> StartWorkerAsync(string id, Uri broker, double heartbeatInterval = 1, Action<IServiceCollection>? replace = null)
    {
        var node = new WorkerNode(new WorkerOptions { WorkerId = id, HeartbeatInterval = heartbeatInterval }, new SyntheticNodeData(3, 300, 42));
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ToTestOutput(output, id);
        builder.Services.AddDeployedWorker(new ConnectionSettings { Broker = broker.ToString() }, node);
        replace?.Invoke(builder.Services);
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            o.WaitUntilStarted = true;
            o.StopTimeout = TimeSpan.FromSeconds(5);
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static async Task<IBusControl> StartBusAsync(Uri broker)
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.IcosFlHost(broker.ToString());
            cfg.UseIcosFlTopology();
            cfg.UseBrokerUserId(BrokerIdentity.UserOf(broker.ToString())!);
        });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await bus.StartAsync(timeout.Token);
        return bus;
    }

    private async Task DeclareAsAdminAsync(string exchange)
    {
        await using var admin = await new ConnectionFactory { Uri = _definitions.AdminUri }.CreateConnectionAsync();
        await using var channel = await admin.CreateChannelAsync();
        await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true);
    }

    private static async Task<int> ConnectionsOfAsync(HttpClient http, string user)
    {
        var connections = await http.GetFromJsonAsync<JsonElement[]>("api/connections?columns=name,user");
        return connections!.Count(c => c.GetProperty("user").GetString() == user);
    }

    private async Task<WorkerInfo?> WaitForRegistryAsync(string workerId, Func<WorkerInfo?, bool> condition, TimeSpan timeout, string what)
    {
        var registry = new RedisWorkerRegistry(_redis);
        WorkerInfo? info = null;
        for (var deadline = DateTime.UtcNow + timeout; DateTime.UtcNow < deadline; await Task.Delay(100))
        {
            info = (await registry.ListAsync()).SingleOrDefault(w => w.WorkerId == workerId);
            if (condition(info))
                return info;
        }
        throw new TimeoutException($"{what}: not within {timeout.TotalSeconds} s (last: {info})");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline; await Task.Delay(200))
            if (await condition())
                return;
        throw new TimeoutException($"{what}: not within 30 s");
    }

    /// <summary>The registry, counting the heartbeats the controller writes per worker.</summary>
    private sealed class CountingRegistry(IWorkerRegistry inner, ConcurrentDictionary<string, int> recorded) : IWorkerRegistry
    {
        public Task RecordHeartbeatAsync(WorkerHeartbeat heartbeat, CancellationToken cancellationToken = default)
        {
            recorded.AddOrUpdate(heartbeat.WorkerId, 1, (_, n) => n + 1);
            return inner.RecordHeartbeatAsync(heartbeat, cancellationToken);
        }

        public Task RecordStoppingAsync(string workerId, DateTimeOffset at, CancellationToken cancellationToken = default) =>
            inner.RecordStoppingAsync(workerId, at, cancellationToken);

        public Task<IReadOnlyList<WorkerInfo>> ListAsync(CancellationToken cancellationToken = default) => inner.ListAsync(cancellationToken);
    }

    /// <summary>The controller's log lines, for the rejection reasons.</summary>
    private sealed class CapturedLog : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => _lines.ToArray();

        public ILogger CreateLogger(string categoryName) => new Logger(_lines);

        public async Task WaitForAsync(Func<string, bool> match, TimeSpan timeout, string what)
        {
            for (var deadline = DateTime.UtcNow + timeout; DateTime.UtcNow < deadline; await Task.Delay(100))
                if (_lines.Any(match))
                    return;
            throw new TimeoutException($"{what}: no such log line within {timeout.TotalSeconds} s");
        }

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                    lines.Enqueue(formatter(state, exception));
            }
        }
    }
}
