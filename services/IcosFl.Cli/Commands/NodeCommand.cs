using System.CommandLine;
using System.Security.Cryptography;
using IcosFl.Cli.Enrolment;
using IcosFl.Contracts;
using IcosFl.Controller.Workers;
using IcosFl.Infrastructure.Messaging;

namespace IcosFl.Cli.Commands;

/// <summary>
/// <c>icosfl node add|ls|revoke</c>: one broker identity per worker node (issue 16), enrolled through RabbitMQ's
/// management API with the operator's admin user (the user and password of --broker / ICOSFL_BROKER, whose path is
/// the IcosFl vhost).
/// </summary>
public static class NodeCommand
{
    /// <summary>The environment variable of the management API's address.</summary>
    public const string ManagementVariable = "ICOSFL_RABBITMQ_MANAGEMENT";

    public static Command Create()
    {
        var command = new Command("node", "Enrol, list and revoke worker nodes' broker users (RabbitMQ management API, admin credentials)");
        command.Subcommands.Add(Add());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Revoke());
        return command;
    }

    private sealed class AdminOptions
    {
        public ConnectionOptions Connection { get; } = new();
        public Option<string?> Management { get; } = new("--management")
        {
            Description = $"RabbitMQ management API URL (default: ${ManagementVariable} or http://BROKER-HOST:15672/)",
        };

        public void AddTo(Command command)
        {
            Connection.AddTo(command);
            command.Options.Add(Management);
        }

        /// <summary>The admin connection, or a problem for exit code 2.</summary>
        public (Admin? Admin, string? Problem) Read(ParseResult parse)
        {
            var settings = Connection.Read(parse);
            if (settings.BrokerProblem() is { } brokerProblem)
                return (null, brokerProblem);
            var broker = new Uri(settings.Broker);
            var user = BrokerIdentity.UserOf(settings.Broker);
            if (user is null)
                return (null, $"--broker / ICOSFL_BROKER ({settings.BrokerForDisplay}) names no user: give the RabbitMQ admin user and password (amqp://ADMIN:PASSWORD@HOST:5672/icosfl)");
            var password = broker.UserInfo.Contains(':') ? Uri.UnescapeDataString(broker.UserInfo[(broker.UserInfo.IndexOf(':') + 1)..]) : "";
            var vhost = Uri.UnescapeDataString(broker.AbsolutePath.TrimStart('/'));
            if (vhost.Length == 0)
                vhost = "/";
            var managementText = parse.GetValue(Management)
                ?? (Environment.GetEnvironmentVariable(ManagementVariable) is { Length: > 0 } fromEnv ? fromEnv : null)
                ?? $"http://{broker.Host}:15672/";
            if (!Uri.TryCreate(managementText, UriKind.Absolute, out var management) || (management.Scheme != "http" && management.Scheme != "https"))
                return (null, $"--management / {ManagementVariable} must be an http:// or https:// URL, got '{managementText}'");
            return (new Admin(settings, broker, vhost, new RabbitMqManagement(management, user, password, NodeStartup.ConnectTimeout)), null);
        }
    }

    private sealed record Admin(ConnectionSettings Settings, Uri Broker, string Vhost, RabbitMqManagement Api) : IDisposable
    {
        public void Dispose() => Api.Dispose();
    }

    private static Command Add()
    {
        var admin = new AdminOptions();
        var id = new Argument<string>("id") { Description = "The node's worker id (ASCII letters, digits, '.', '_', '-')" };
        var output = new Option<string?>("--out") { Description = "Write the credentials and connection string to this file (mode 600) instead of printing them" };
        var command = new Command("add", "Enrol a node: create its broker user icosfl-node-ID with a generated password and its permissions") { id, output };
        admin.AddTo(command);
        command.SetAction((parse, ct) => RunAsync("node add", admin, parse, ct, async a =>
        {
            var workerId = parse.GetValue(id)!;
            if (BrokerIdentity.WorkerIdProblem(workerId) is { } idProblem)
                return Fail("node add", idProblem, ExitCodes.BadUsage);
            var user = BrokerIdentity.NodeUser(workerId);
            var file = parse.GetValue(output);
            if (file is not null && File.Exists(file))
                return Fail("node add", $"--out {file} exists already: not overwriting it", ExitCodes.BadUsage);
            if (!await a.Api.VhostExistsAsync(a.Vhost, ct))
                return Fail("node add", $"the broker at {a.Api.BaseAddress} has no vhost '{a.Vhost}' (the path of --broker / ICOSFL_BROKER)", ExitCodes.BadUsage);
            if (await a.Api.UserExistsAsync(user, ct))
                return Fail("node add", $"node {workerId} is enrolled already (broker user {user} exists); revoke it first (icosfl node revoke {workerId}) to issue new credentials", ExitCodes.BadUsage);

            var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
            await a.Api.CreateUserAsync(user, password, ct);
            try
            {
                var (configure, write, read) = BrokerIdentity.NodePermissions(workerId);
                await a.Api.SetPermissionsAsync(a.Vhost, user, configure, write, read, ct);
                foreach (var (exchange, topicWrite, topicRead) in BrokerIdentity.NodeTopicPermissions(workerId))
                    await a.Api.SetTopicPermissionsAsync(a.Vhost, user, exchange, topicWrite, topicRead, ct);
            }
            catch
            {
                // No half-enrolled node: a user without all its permissions is removed again.
                await a.Api.DeleteUserAsync(user, CancellationToken.None);
                throw;
            }

            var workerBroker = new UriBuilder(a.Broker) { UserName = Uri.EscapeDataString(user), Password = password }.Uri.ToString();
            var text = $"""
                # IcosFl node {workerId}: broker user {user} on vhost {a.Vhost}, enrolled {DateTimeOffset.UtcNow:u}.
                # The worker may read only its own queue (icosfl-worker-{workerId}) and messages addressed to {workerId}, and publish only a worker's messages,
                # in its own name. Keep this secret; icosfl node revoke {workerId} withdraws it.
                # user: {user}
                # password: {password}
                ICOSFL_WORKER_ID={workerId}
                ICOSFL_BROKER={workerBroker}

                """;
            if (file is null)
                Console.Out.Write(text);
            else
            {
                var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows())
                    create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                using (var stream = new FileStream(file, create))
                using (var writer = new StreamWriter(stream))
                    await writer.WriteAsync(text);
                Console.Error.WriteLine($"node {workerId} enrolled as broker user {user}; credentials and connection string written to {file}");
            }
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command List()
    {
        var admin = new AdminOptions();
        var json = new Option<bool>("--json") { Description = "Print the list as JSON" };
        var command = new Command("ls", "List enrolled nodes: connected now, last heartbeat (from the controller's worker registry in Redis, when reachable)") { json };
        admin.AddTo(command);
        command.SetAction((parse, ct) => RunAsync("node ls", admin, parse, ct, async a =>
        {
            var users = await a.Api.UserNamesAsync(ct);
            var connections = await a.Api.ConnectionsAsync(ct);
            IReadOnlyDictionary<string, WorkerInfo>? registry = null;
            string? registryProblem = null;
            try
            {
                using var redis = await Reachability.ConnectRedisAsync(a.Settings, TimeSpan.FromSeconds(Math.Min(5, NodeStartup.ConnectTimeout.TotalSeconds)));
                registry = (await new RedisWorkerRegistry(redis).ListAsync(ct)).ToDictionary(w => w.WorkerId, StringComparer.Ordinal);
            }
            catch (UnreachableException e)
            {
                registryProblem = e.Message;
            }

            var nodes = users
                .Select(u => (User: u, WorkerId: BrokerIdentity.WorkerIdOf(u)))
                .Where(n => n.WorkerId is not null)
                .OrderBy(n => n.WorkerId, StringComparer.Ordinal)
                .Select(n => new
                {
                    WorkerId = n.WorkerId!,
                    n.User,
                    Connections = connections.Count(c => c.User == n.User && c.Vhost == a.Vhost),
                    LastHeartbeat = registry?.GetValueOrDefault(n.WorkerId!)?.LastHeartbeat,
                    Stopped = registry?.GetValueOrDefault(n.WorkerId!)?.Stopped,
                })
                .ToList();
            if (parse.GetValue(json))
                Console.Out.WriteLine(CliJson.Serialize(nodes));
            else
            {
                if (nodes.Count == 0)
                    Console.Error.WriteLine("no nodes enrolled (icosfl node add ID)");
                foreach (var n in nodes)
                {
                    var heartbeat = registry is null ? "last heartbeat unknown"
                        : n.LastHeartbeat is { } at ? $"last heartbeat {at:u}{(n.Stopped == true ? " (stopped)" : "")}" : "no heartbeat yet";
                    Console.Out.WriteLine($"{n.WorkerId}  {n.User}  {(n.Connections > 0 ? $"connected ({n.Connections})" : "not connected")}  {heartbeat}");
                }
            }
            if (registryProblem is not null)
                Console.Error.WriteLine($"icosfl node ls: last heartbeats unknown: {registryProblem}");
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Revoke()
    {
        var admin = new AdminOptions();
        var id = new Argument<string>("id") { Description = "The node's worker id" };
        var command = new Command("revoke", "Revoke a node: delete its broker user, close its connections, tell the controller to drop it") { id };
        admin.AddTo(command);
        command.SetAction((parse, ct) => RunAsync("node revoke", admin, parse, ct, async a =>
        {
            var workerId = parse.GetValue(id)!;
            if (BrokerIdentity.WorkerIdProblem(workerId) is { } idProblem)
                return Fail("node revoke", idProblem, ExitCodes.BadUsage);
            var user = BrokerIdentity.NodeUser(workerId);
            // Its connections listed first: RabbitMQ closes a deleted user's connections itself, and they would be gone from the list.
            var open = (await a.Api.ConnectionsAsync(ct)).Where(c => c.User == user).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
            if (!await a.Api.DeleteUserAsync(user, ct))
                return Fail("node revoke", $"no node {workerId} is enrolled (no broker user {user} at {a.Api.BaseAddress})", ExitCodes.BadUsage);
            // A connection opened meanwhile, or one the broker has not closed yet, is closed here (one already gone is fine).
            open.UnionWith((await a.Api.ConnectionsAsync(ct)).Where(c => c.User == user).Select(c => c.Name));
            foreach (var connection in open)
                await a.Api.CloseConnectionAsync(connection, $"icosfl node {workerId} revoked", ct);
            var closed = open.Count;
            Console.Error.WriteLine($"node {workerId} revoked: broker user {user} deleted, {closed} connection(s) closed");

            // The controller drops it from the live workers now rather than when its heartbeats lapse.
            if (await Reachability.CheckBrokerAsync(a.Settings, NodeStartup.ConnectTimeout, ct) is { } brokerProblem)
            {
                Console.Error.WriteLine($"icosfl node revoke: the controller was not told ({brokerProblem}); it drops {workerId} when its heartbeats lapse");
                return ExitCodes.Success;
            }
            try
            {
                await Publishing.PublishAsync(a.Settings, new NodeRevoked
                {
                    WorkerId = workerId,
                    RevokedAt = DateTimeOffset.UtcNow,
                    RevokedBy = $"{Environment.UserName} with icosfl node revoke",
                }, ct);
            }
            catch (NobodyListeningException e)
            {
                Console.Error.WriteLine($"icosfl node revoke: {e.Message}");
            }
            return ExitCodes.Success;
        }));
        return command;
    }

    private static async Task<int> RunAsync(string who, AdminOptions options, ParseResult parse, CancellationToken ct, Func<Admin, Task<int>> action)
    {
        var (admin, problem) = options.Read(parse);
        if (admin is null)
            return Fail(who, problem!, ExitCodes.BadUsage);
        using (admin)
        {
            try
            {
                return await action(admin);
            }
            catch (ManagementApiException e)
            {
                return Fail(who, e.Message, e.Problem == ManagementProblem.Failed ? ExitCodes.FederationFailed : ExitCodes.Unreachable);
            }
        }
    }

    private static int Fail(string who, string message, int exitCode)
    {
        Console.Error.WriteLine($"icosfl {who}: {message}");
        return exitCode;
    }
}
