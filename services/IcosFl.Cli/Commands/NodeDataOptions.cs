using System.CommandLine;
using IcosFl.Learning.NodeData;
using IcosFl.Worker.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace IcosFl.Cli.Commands;

/// <summary>
/// Where a deployed node's own data comes from: its real metrics, collected into a node-local store
/// (the default; a file store, or the node's own Redis, see <see cref="NodeStoreOptions"/>), or a synthetic
/// series (demos and tests, where minutes of real samples are too few).
/// </summary>
public sealed class NodeDataOptions
{
    public Option<string> Data { get; } = new("--data")
    {
        Description = "collect: sample this node's metrics every scrape interval into its store (default; $ICOSFL_DATA); " +
                      "synthetic: a made-up series (demos, tests)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ICOSFL_DATA") is { Length: > 0 } d ? d : "collect",
    };
    public NodeStoreOptions Store { get; } = new();
    public Option<double> ScrapeInterval { get; } = new("--scrape-interval")
    {
        Description = "Seconds between metric samples (with --data collect)",
        DefaultValueFactory = _ => 3,
    };
    public Option<int?> SyntheticNode { get; } = new("--synthetic-node")
    {
        Description = "With --data synthetic: index of the series (default: derived from the node name)",
    };
    public Option<int> Points { get; } = new("--points") { Description = "With --data synthetic: points held", DefaultValueFactory = _ => 2000 };
    public Option<int> Seed { get; } = new("--data-seed") { Description = "With --data synthetic: seed", DefaultValueFactory = _ => 42 };

    public void AddTo(Command command)
    {
        command.Options.Add(Data);
        Store.AddTo(command);
        command.Options.Add(ScrapeInterval);
        command.Options.Add(SyntheticNode);
        command.Options.Add(Points);
        command.Options.Add(Seed);
    }

    /// <summary>Why the options cannot work, or null.</summary>
    public string? FindProblem(ParseResult parse) => parse.GetValue(Data) switch
    {
        "collect" => new MetricsCollectionOptions { ScrapeInterval = parse.GetValue(ScrapeInterval) }.FindProblem() ?? Store.FindProblem(parse),
        "synthetic" => parse.GetValue(Points) < 1 ? $"--points must be positive, got {parse.GetValue(Points)}" : null,
        var other => $"--data must be 'collect' or 'synthetic', got '{other}'",
    };

    /// <summary>
    /// Registers the node's data source (and, when collecting, the scrape service); returns a description for the log.
    /// Throws <see cref="IcosFl.Infrastructure.Messaging.UnreachableException"/> when the node Redis does not answer.
    /// </summary>
    public async Task<(INodeDataSource Source, string Description)> RegisterAsync(ParseResult parse, IServiceCollection services, string node, int defaultSyntheticIndex)
    {
        if (parse.GetValue(Data) == "synthetic")
        {
            var index = parse.GetValue(SyntheticNode) ?? defaultSyntheticIndex;
            return (new SyntheticNodeData(index, parse.GetValue(Points), parse.GetValue(Seed)),
                $"synthetic series {index} ({parse.GetValue(Points)} points)");
        }
        // The host owns the connection from here: it closes with the process.
        var opened = await Store.OpenAsync(parse, node);
        services.AddSingleton(opened);
        services.AddSingleton(opened.Store);
        services.AddNodeMetricsCollection(opened.Store, new MetricsCollectionOptions { ScrapeInterval = parse.GetValue(ScrapeInterval) });
        return (opened.Store, $"metrics collected every {parse.GetValue(ScrapeInterval)} s into {opened.Store.Summarise().Store}");
    }

    /// <summary>Spreads node names over synthetic series 1..1000, the same in every process.</summary>
    public static int StableIndex(string name) => 1 + (int)(IcosFl.Worker.WorkerNode.StableHash(name) % 1000);
}
