using System.CommandLine;
using IcosFl.Contracts;
using IcosFl.Controller.Federations;
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
            var id = NewId.NextGuid();
            StartFederation message;
            try
            {
                // The controller's own validation, run here first so a bad config is exit 2, not a fault later.
                var config = RunConfigParser.Parse(parse.GetValue(runConfig));
                message = new StartFederation { FederationId = id, RunConfig = config, RequestedBy = Environment.UserName };
                StartFederationConsumer.Resolve(message);
            }
            catch (Exception e) when (e is RunConfigException or InvalidFederationRequestException)
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
            try
            {
                await Publishing.PublishAsync(settings, message, ct);
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
