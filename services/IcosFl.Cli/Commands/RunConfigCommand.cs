using System.CommandLine;
using IcosFl.Contracts;

namespace IcosFl.Cli.Commands;

public static class RunConfigCommand
{
    public static Command Create()
    {
        var markdown = new Option<bool>("--markdown") { Description = "Print a Markdown table (as in docs/run-configuration.md)" };
        var json = new Option<bool>("--json") { Description = "Print the keys as JSON" };
        var command = new Command("run-config", "List the run-config keys with their defaults and accepted values") { markdown, json };
        command.SetAction(parse =>
        {
            var keys = RunConfigKeys.All;
            if (parse.GetValue(json))
                Console.Out.WriteLine(CliJson.Serialize(keys.Select(k => new { key = k.Name, @default = k.DefaultValue, accepted = k.Accepted, description = k.Description })));
            else if (parse.GetValue(markdown))
                Console.Out.Write(RunConfigKeys.MarkdownTable());
            else
                foreach (var k in keys)
                    Console.Out.WriteLine($"{k.Name,-24} {k.DefaultValue,-12} {k.Accepted}: {k.Description}");
            return ExitCodes.Success;
        });
        return command;
    }
}
