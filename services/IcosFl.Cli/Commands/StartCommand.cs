using System.CommandLine;
using IcosFl.Contracts;
using IcosFl.Controller.Checkpoints;
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
        var resume = new Option<string?>("--resume")
        {
            Description = "Continue this federation from its latest checkpoint, as a new federation (--run-config overrides its config; " +
                          "num-server-rounds counts the rounds already done)",
        };
        var checkpoints = new CheckpointOptions();
        var command = new Command("start", "Start a federation: publish StartFederation to the controller and print its id") { runConfig, json, resume };
        connection.AddTo(command);
        checkpoints.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var id = NewId.NextGuid();
            StartFederation message;
            try
            {
                // The controller's own validation, run here first so a bad config is exit 2, not a fault later.
                if (parse.GetValue(resume) is { } resumeText)
                {
                    if (!Guid.TryParse(resumeText, out var resumeFrom))
                        throw new InvalidFederationRequestException($"--resume '{resumeText}' is not a federation id (a GUID)");
                    // The controller resumes from its own checkpoint store; this one is checked when it is on this machine.
                    message = new StartFederation
                    {
                        FederationId = id, RunConfigText = parse.GetValue(runConfig), ResumeFrom = resumeFrom, RequestedBy = Environment.UserName,
                    };
                    var store = checkpoints.Store(parse);
                    if (await store.LoadAsync(resumeFrom, CheckpointKind.Latest, ct) is { } checkpoint)
                        StartFederationConsumer.ResolveResume(message, checkpoint);
                    else
                        Console.Error.WriteLine($"icosfl start: no checkpoint of {resumeFrom} in {store.Describe(resumeFrom)} here; the controller looks in its own checkpoint folder");
                }
                else
                {
                    var config = RunConfigParser.Parse(parse.GetValue(runConfig));
                    message = new StartFederation { FederationId = id, RunConfig = config, RequestedBy = Environment.UserName };
                    StartFederationConsumer.Resolve(message);
                }
            }
            catch (Exception e) when (e is RunConfigException or InvalidFederationRequestException or InvalidDataException)
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
