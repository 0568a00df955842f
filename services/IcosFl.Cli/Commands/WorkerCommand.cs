using System.CommandLine;
using IcosFl.Infrastructure.Hosting;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Learning.NodeData;
using IcosFl.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IcosFl.Cli.Commands;

public static class WorkerCommand
{
    public static Command Create()
    {
        var connection = new ConnectionOptions(redis: false);
        var logging = new NodeLoggingOptions();
        var id = new Option<string?>("--id") { Description = "This worker's id (default: $ICOSFL_WORKER_ID or the host name)" };
        var interval = new Option<double>("--heartbeat-interval")
        {
            Description = "Seconds between heartbeats",
            DefaultValueFactory = _ => 10,
        };
        var data = new NodeDataOptions();
        var command = new Command("worker", "Host a worker until stopped (SIGTERM/Ctrl-C): heartbeats, local training, evaluation")
        {
            id, interval,
        };
        connection.AddTo(command);
        data.AddTo(command);
        logging.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var settings = connection.Read(parse);
            var workerId = parse.GetValue(id)
                ?? (Environment.GetEnvironmentVariable("ICOSFL_WORKER_ID") is { Length: > 0 } fromEnvironment ? fromEnvironment : null)
                ?? Environment.MachineName;
            if (string.IsNullOrWhiteSpace(workerId) || workerId.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            {
                Console.Error.WriteLine($"icosfl worker: --id must be a non-empty name without spaces, got '{workerId}'");
                return ExitCodes.BadUsage;
            }
            if (parse.GetValue(interval) is var seconds && seconds <= 0)
            {
                Console.Error.WriteLine($"icosfl worker: --heartbeat-interval must be positive, got {seconds}");
                return ExitCodes.BadUsage;
            }
            if (data.FindProblem(parse) is { } dataProblem)
            {
                Console.Error.WriteLine($"icosfl worker: {dataProblem}");
                return ExitCodes.BadUsage;
            }
            // The broker is all a worker needs (issue 16): weights travel as chunk messages to and from the controller.
            if (!await NodeStartup.CheckBrokerAsync(settings, $"worker {workerId}", ct))
                return ExitCodes.Unreachable;
            StartupTrace.Mark("broker reachable");

            var builder = Host.CreateApplicationBuilder();
            INodeDataSource source;
            string described;
            try
            {
                (source, described) = await data.RegisterAsync(parse, builder.Services, workerId, NodeDataOptions.StableIndex(workerId));
            }
            catch (Exception e) when (e is UnreachableException or FormatException or IOException or ArgumentException)
            {
                Console.Error.WriteLine($"icosfl worker: {e.Message}");
                return e is UnreachableException ? ExitCodes.Unreachable : ExitCodes.BadUsage;
            }
            var node = new WorkerNode(new WorkerOptions { WorkerId = workerId, HeartbeatInterval = parse.GetValue(interval) }, source);
            builder.AddIcosFlLogging(logging.Read(parse, $"worker-{workerId}", settings));
            builder.Services.AddDeployedWorker(settings, node);
            if (WarmUpService.Enabled)
                builder.Services.AddHostedService(sp => new WarmUpService(sp.GetRequiredService<MassTransit.IBusControl>(), train: true,
                    sp.GetRequiredService<ILogger<WarmUpService>>()));
            using var host = builder.Build();
            StartupTrace.Mark("host built");
            host.Services.GetRequiredService<ILogger<WorkerNode>>().LogInformation(
                "Worker {WorkerId} started on {Host}: broker {Broker}, data: {NodeData}",
                workerId, node.Options.Host, settings.BrokerForDisplay, described);
            await host.RunAsync(ct);
            return ExitCodes.Success;
        });
        return command;
    }
}
