using System.CommandLine;
using IcosFl.Dashboard;

namespace IcosFl.Cli.Commands;

/// <summary>The <c>--http HOST:PORT|off</c> option of the commands that serve the dashboard.</summary>
public sealed class HttpOption(string defaultValue)
{
    public Option<string> Option { get; } = new("--http")
    {
        Description = $"Serve the dashboard, the JSON API, /metrics and /health at HOST:PORT (HOST:0 = any free port), or 'off'",
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

    /// <param name="seqUrl">Seq's address from --seq or ICOSFL_SEQ_URL (the page links to the federation's events there).</param>
    public static DashboardOptions OptionsFor(Uri listen, string mode, string? seqUrl) => new()
    {
        Listen = listen,
        Mode = mode,
        SeqUrl = string.IsNullOrWhiteSpace(seqUrl) ? null : seqUrl,
    };
}
