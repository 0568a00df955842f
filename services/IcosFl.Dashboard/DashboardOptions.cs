namespace IcosFl.Dashboard;

public sealed record DashboardOptions
{
    /// <summary>Where Kestrel listens (port 0: any free port; <see cref="DashboardServer.Address"/> tells which).</summary>
    public required Uri Listen { get; init; }

    /// <summary>Seq's address (ICOSFL_SEQ_URL): the federation page links to its events there. Null: no link.</summary>
    public string? SeqUrl { get; init; }

    /// <summary>"embedded" or "deployed", shown on the pages.</summary>
    public string Mode { get; init; } = "deployed";
}
