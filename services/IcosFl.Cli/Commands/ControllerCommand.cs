using System.CommandLine;
using IcosFl.Controller;
using IcosFl.Infrastructure.Logging;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Learning.NodeData;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;

namespace IcosFl.Cli.Commands;

public static class ControllerCommand
{
    public static Command Create()
    {
        var connection = new ConnectionOptions();
        var logging = new NodeLoggingOptions();
        var patience = new Option<int>("--heartbeat-patience")
        {
            Description = "Heartbeat intervals a worker may miss before it counts as offline",
            DefaultValueFactory = _ => 2,
        };
        var syntheticNode = new Option<int>("--synthetic-node")
        {
            Description = "Index of the synthetic series this node evaluates global models on",
            DefaultValueFactory = _ => 0,
        };
        var points = new Option<int>("--points") { Description = "Synthetic points on this node", DefaultValueFactory = _ => 2000 };
        var seed = new Option<int>("--data-seed") { Description = "Seed of the synthetic data", DefaultValueFactory = _ => 42 };
        var command = new Command("controller",
            "Host the controller (federation and round sagas, aggregation) until stopped (SIGTERM/Ctrl-C)")
        {
            patience, syntheticNode, points, seed,
        };
        connection.AddTo(command);
        logging.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var settings = connection.Read(parse);
            if (parse.GetValue(patience) < 1)
            {
                Console.Error.WriteLine("icosfl controller: --heartbeat-patience must be at least 1");
                return ExitCodes.BadUsage;
            }
            var redis = await NodeStartup.ConnectAsync(settings, "controller", ct);
            if (redis is null)
                return ExitCodes.Unreachable;

            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.Services.AddSerilog(IcosFlLogging.CreateLogger(logging.Read(parse, "controller", settings)), dispose: true);
            builder.Services.AddDeployedController(settings, redis, new ControllerOptions { HeartbeatPatience = parse.GetValue(patience) },
                new SyntheticNodeData(parse.GetValue(syntheticNode), parse.GetValue(points), parse.GetValue(seed)));
            using var host = builder.Build();
            host.Services.GetRequiredService<ILogger<ControllerOptionsLog>>().LogInformation(
                "Controller started: broker {Broker}, Redis {Redis}", settings.BrokerForDisplay, settings.Redis);
            await host.RunAsync(ct);
            return ExitCodes.Success;
        });
        return command;
    }

    private sealed class ControllerOptionsLog;
}
