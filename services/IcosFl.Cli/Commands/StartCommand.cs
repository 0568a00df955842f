using System.CommandLine;
using IcosFl.Contracts;
using MassTransit;

namespace IcosFl.Cli.Commands;

public static class StartCommand
{
    public static Command Create()
    {
        var connection = new ConnectionOptions();
        var runConfig = new Option<string?>("--run-config") { Description = "Run-config overrides, e.g. \"num-server-rounds=20 min-fit-clients=3\"" };
        var json = new Option<bool>("--json") { Description = "Print {\"federationId\": ...} as JSON" };
        var command = new Command("start", "Start a federation: publish StartFederation to the controller and print its id") { runConfig, json };
        connection.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            RunConfig config;
            try
            {
                config = RunConfigParser.Parse(parse.GetValue(runConfig));
            }
            catch (RunConfigException e)
            {
                Console.Error.WriteLine($"icosfl start: {e.Message}");
                return ExitCodes.BadUsage;
            }
            var settings = connection.Read(parse);
            if (await Infrastructure.Messaging.Reachability.CheckBrokerAsync(settings, NodeStartup.ConnectTimeout, ct) is { } problem)
            {
                Console.Error.WriteLine($"icosfl start: {problem}");
                return ExitCodes.Unreachable;
            }
            var id = NewId.NextGuid();
            try
            {
                await Publishing.PublishAsync(settings, new StartFederation { FederationId = id, RunConfig = config, RequestedBy = Environment.UserName }, ct);
            }
            catch (NobodyListeningException e)
            {
                Console.Error.WriteLine($"icosfl start: {e.Message}");
                return ExitCodes.Unreachable;
            }
            Console.Out.WriteLine(parse.GetValue(json) ? CliJson.Serialize(new { federationId = id }) : id.ToString());
            return ExitCodes.Success;
        });
        return command;
    }
}
