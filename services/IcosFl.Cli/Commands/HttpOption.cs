using System.CommandLine;
using IcosFl.Dashboard;

namespace IcosFl.Cli.Commands;

/// <summary>The <c>--http HOST:PORT|off</c> option of the commands that serve the dashboard.</summary>
public sealed class HttpOption(string defaultValue)
{
    public Option<string> Option { get; } = new("--http")
    {
        Description = $"Serve the dashboard, the JSON API, /metrics and /health at HOST:PORT (HOST:0 = any free port), or 'off' (default {defaultValue})",
        DefaultValueFactory = _ => defaultValue,
    };

    public void AddTo(Command command) => command.Options.Add(Option);

    /// <summary>The address to listen on, null for off; a problem (for exit code 2) when the value is not an address.</summary>
    public (Uri? Listen, string? Problem) Read(ParseResult parse)
    {
        try
        {
            return (DashboardEndpoint.Parse(parse.GetValue(Option) ?? "off"), null);
        }
        catch (FormatException e)
        {
            return (null, e.Message);
        }
    }

    public static DashboardOptions OptionsFor(Uri listen, string mode) => new()
    {
        Listen = listen,
        Mode = mode,
        SeqUrl = Environment.GetEnvironmentVariable("ICOSFL_SEQ_URL") is { Length: > 0 } seq ? seq : null,
    };
}
