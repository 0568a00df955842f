using System.CommandLine;
using IcosFl.Contracts;

namespace IcosFl.Cli.Commands;

public static class StopCommand
{
    public static Command Create()
    {
        var connection = new ConnectionOptions();
        var id = new Argument<Guid>("federation-id") { Description = "The federation to stop" };
        var reason = new Option<string?>("--reason") { Description = "Why (kept with the federation)" };
        var command = new Command("stop", "Stop a federation: no further rounds start") { id, reason };
        connection.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var settings = connection.Read(parse);
            if (await Infrastructure.Messaging.Reachability.CheckBrokerAsync(settings, NodeStartup.ConnectTimeout, ct) is { } problem)
            {
                Console.Error.WriteLine($"icosfl stop: {problem}");
                return ExitCodes.Unreachable;
            }
            try
            {
                await Publishing.PublishAsync(settings, new StopFederation
                {
                    FederationId = parse.GetValue(id),
                    Reason = parse.GetValue(reason) ?? $"stopped by {Environment.UserName} with icosfl stop",
                }, ct);
            }
            catch (NobodyListeningException e)
            {
                Console.Error.WriteLine($"icosfl stop: {e.Message}");
                return ExitCodes.Unreachable;
            }
            Console.Error.WriteLine($"stop requested for federation {parse.GetValue(id)}");
            return ExitCodes.Success;
        });
        return command;
    }
}
