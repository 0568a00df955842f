using System.CommandLine;
using IcosFl.Controller;
using IcosFl.Controller.Checkpoints;
using IcosFl.Dashboard;
using IcosFl.Infrastructure.Hosting;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Learning.NodeData;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IcosFl.Cli.Commands;

public static class ControllerCommand
{
    public static Command Create()
    {
        var connection = new ConnectionOptions(payloadRedis: true);
        var logging = new NodeLoggingOptions();
        var patience = new Option<int>("--heartbeat-patience")
        {
            Description = "Heartbeat intervals a worker may miss before it counts as offline",
            DefaultValueFactory = _ => 2,
        };
        var data = new NodeDataOptions();
        var checkpoints = new CheckpointOptions();
        var http = new HttpOption(IcosFl.Dashboard.DashboardEndpoint.Default);
        var nodeName = new Option<string>("--node")
        {
            Description = "This node's name (its store folder, its logs)",
            DefaultValueFactory = _ => Environment.MachineName,
        };
        var sharedWorkerUser = new Option<string?>("--shared-worker-user")
        {
            Description = "Development mode: also accept workers' messages from this broker user shared by all workers, " +
                          "for any worker id (default: $ICOSFL_SHARED_WORKER_USER; none: each worker only as its own icosfl-node-ID user)",
        };
        var command = new Command("controller",
            "Host the controller (federation and round sagas, aggregation) until stopped (SIGTERM/Ctrl-C)")
        {
            patience, nodeName, sharedWorkerUser,
        };
        connection.AddTo(command);
        data.AddTo(command);
        checkpoints.AddTo(command);
        logging.AddTo(command);
        http.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var settings = connection.Read(parse);
            if (parse.GetValue(patience) < 1)
            {
                Console.Error.WriteLine("icosfl controller: --heartbeat-patience must be at least 1");
                return ExitCodes.BadUsage;
            }
            if (data.FindProblem(parse) is { } dataProblem)
            {
                Console.Error.WriteLine($"icosfl controller: {dataProblem}");
                return ExitCodes.BadUsage;
            }
            var (listen, httpProblem) = http.Read(parse);
            if (httpProblem is not null)
            {
                Console.Error.WriteLine($"icosfl controller: {httpProblem}");
                return ExitCodes.BadUsage;
            }
            var shared = parse.GetValue(sharedWorkerUser)
                         ?? (Environment.GetEnvironmentVariable("ICOSFL_SHARED_WORKER_USER") is { Length: > 0 } fromEnv ? fromEnv : null);
            using var redis = await NodeStartup.ConnectAsync(settings, "controller", ct);
            if (redis is null)
                return ExitCodes.Unreachable;
            StartupTrace.Mark("broker reachable, Redis connected");

            var builder = Host.CreateApplicationBuilder();
            builder.AddIcosFlLogging(logging.Read(parse, "controller", settings));
            // The controller trains nothing but evaluates every global model on its own node's data (synthetic series 0 by default).
            INodeDataSource source;
            string described;
            try
            {
                (source, described) = await data.RegisterAsync(parse, builder.Services, parse.GetValue(nodeName)!, 0);
            }
            catch (Exception e) when (e is UnreachableException or FormatException or IOException or ArgumentException)
            {
                Console.Error.WriteLine($"icosfl controller: {e.Message}");
                return e is UnreachableException ? ExitCodes.Unreachable : ExitCodes.BadUsage;
            }
            var checkpointStore = checkpoints.Store(parse);
            builder.Services.AddDeployedController(settings, redis.State,
                new ControllerOptions
                {
                    HeartbeatPatience = parse.GetValue(patience),
                    NodeName = parse.GetValue(nodeName)!,
                    SharedWorkerUser = shared,
                }, source, redis.Payloads, checkpointStore);
            if (listen is not null)
                builder.Services.AddIcosFlDashboard(HttpOption.OptionsFor(listen, "deployed", settings.SeqUrl));
            if (WarmUpService.Enabled)
                builder.Services.AddHostedService(sp => new WarmUpService(sp.GetRequiredService<MassTransit.IBusControl>(), train: false,
                    sp.GetRequiredService<ILogger<WarmUpService>>()));
            using var host = builder.Build();
            StartupTrace.Mark("host built");
            var log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("IcosFl.Controller");
            if (settings.PayloadRedisIsSeparate)
                log.LogInformation(
                    "Controller started: broker {Broker}, Redis {Redis}, payload Redis {PayloadRedis}, data: {NodeData}, checkpoints in {CheckpointDirectory}",
                    settings.BrokerForDisplay, settings.RedisForDisplay, settings.PayloadRedisForDisplay, described, checkpointStore.Directory);
            else
                log.LogInformation(
                    "Controller started: broker {Broker}, Redis {Redis}, data: {NodeData}, checkpoints in {CheckpointDirectory}",
                    settings.BrokerForDisplay, settings.RedisForDisplay, described, checkpointStore.Directory);
            if (shared is not null)
                log.LogWarning(
                    "Development mode: messages from the shared broker user {SharedWorkerUser} are accepted for any worker id; " +
                    "any holder of its password can speak for every worker (enrol nodes with icosfl node add instead, docs/deploying.md)",
                    shared);
            else
                log.LogInformation("Workers' messages are accepted only from their own broker users ({NodeUser})",
                    Infrastructure.Messaging.BrokerIdentity.NodeUserPrefix + "{worker id}");
            await host.RunAsync(ct);
            return ExitCodes.Success;
        });
        return command;
    }
}
