using System.CommandLine;

namespace IcosFl.Cli.Commands;

public static class LsCommand
{
    public static Command Create()
    {
        var connection = new ConnectionOptions();
        var json = new Option<bool>("--json") { Description = "Print the list as JSON" };
        var command = new Command("ls", "List federations (read from Redis)") { json };
        connection.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var settings = connection.Read(parse);
            using var reading = await StatusReading.OpenAsync(settings, "ls");
            if (reading is null)
                return ExitCodes.Unreachable;
            var reader = reading.Reader;
            var all = await reader.ListAsync();
            if (parse.GetValue(json))
                Console.Out.WriteLine(CliJson.Serialize(all.Select(f => new
                {
                    f.FederationId, f.State, f.Phase, f.Round, f.NumServerRounds, f.Metric, f.Strategy, f.CreatedAt, f.Reason,
                })));
            else
                foreach (var f in all)
                    Console.Out.WriteLine($"{f.FederationId}  {f.State,-9}  round {f.Round}/{f.NumServerRounds}  {f.Strategy} on {f.Metric}  created {f.CreatedAt:u}");
            return ExitCodes.Success;
        });
        return command;
    }
}
