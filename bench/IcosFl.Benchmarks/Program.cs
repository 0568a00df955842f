using IcosFl.Benchmarks;
using IcosFl.Benchmarks.Footprint;

// dotnet run -c Release --project bench/IcosFl.Benchmarks -- <overhead|transfer|aggregate|heartbeat|footprint|all> [--quick] [--json]
//     [--workers 1,10,50,100] [--variants built,r2r,...] [--no-training]
const string usage = "usage: IcosFl.Benchmarks <overhead|transfer|aggregate|heartbeat|footprint|all> [--quick] [--json] [--workers N,N,...]"
    + " [--variants NAME,NAME,... (footprint: built, r2r, tiered-pgo-off, ...)] [--no-training (footprint)]";
// A trainer process of the footprint suite (it starts them itself).
if (args.Length > 0 && args[0] == TrainingComparison.ChildCommand)
    return TrainingComparison.RunChild(args[1..]);
// "all" is the messaging suites; footprint (processes, PyTorch, minutes of idle windows) runs when named.
string[] suites = ["overhead", "transfer", "aggregate", "heartbeat"];
var arguments = args.ToList();
string[] variants = ["built"];
if (arguments.IndexOf("--variants") is var variantsAt and >= 0)
{
    var unknownVariants = variantsAt + 1 < arguments.Count
        ? arguments[variantsAt + 1].Split(',').Where(v => !DeployedFootprint.Variants.ContainsKey(v)).ToList()
        : ["(none given)"];
    if (unknownVariants.Count > 0)
    {
        Console.Error.WriteLine($"--variants: unknown {string.Join(", ", unknownVariants)}; known: {string.Join(", ", DeployedFootprint.Variants.Keys)}");
        return 2;
    }

    variants = arguments[variantsAt + 1].Split(',');
    arguments.RemoveRange(variantsAt, 2);
}
int[] fleetSizes = OverheadSuite.DefaultFleetSizes;
if (arguments.IndexOf("--workers") is var at and >= 0)
{
    string? problem = "a comma-separated list of fleet sizes is needed, e.g. 100,500,1000,2000";
    if (at + 1 >= arguments.Count || OverheadSuite.ParseFleetSizes(arguments[at + 1], out problem) is not { } sizes)
    {
        Console.Error.WriteLine($"--workers {(at + 1 < arguments.Count ? arguments[at + 1] : "")}: {problem}; {usage}");
        return 2;
    }

    fleetSizes = sizes;
    arguments.RemoveRange(at, 2);
}

var options = arguments.Where(a => a.StartsWith("--", StringComparison.Ordinal)).ToHashSet();
var names = arguments.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
var unknown = options.Except(["--quick", "--json", "--no-training"]).Concat(names.Except([.. suites, "footprint", "all"])).ToList();
if (names.Count == 0 || unknown.Count > 0)
{
    Console.Error.WriteLine(unknown.Count > 0 ? $"unknown argument(s): {string.Join(' ', unknown)}; {usage}" : usage);
    return 2;
}

var quick = options.Contains("--quick");
var json = options.Contains("--json");
var selected = (names.Contains("all") ? suites : suites.Where(names.Contains)).Concat(names.Contains("footprint") ? ["footprint"] : []).ToArray();
var servers = selected.Any(s => s != "aggregate") ? BenchServers.FromEnvironment() : null;
if (!json)
{
    Console.WriteLine($"IcosFl benchmarks{(quick ? " (quick)" : "")}: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}"
        + (servers is null ? "" : $", broker {servers.BrokerForDisplay}, Redis {servers.Redis}, payload Redis {servers.PayloadRedis}"));
}


foreach (var suite in selected)
{
    var result = suite switch
    {
        "overhead" => await OverheadSuite.RunAsync(servers!, quick, fleetSizes),
        "transfer" => await TransferSuite.RunAsync(servers!, quick),
        "heartbeat" => await HeartbeatSuite.RunAsync(servers!, quick),
        "footprint" => await FootprintSuite.RunAsync(servers!, quick, variants, options.Contains("--no-training")),
        _ => await AggregateSuite.RunAsync(quick),
    };

    if (json)
        Console.WriteLine(result.ToJson());
    else
        result.WriteTable(Console.Out);
}
// A missed target is reported in the output (meetsTarget), not as a failure: the figures are the product.
return 0;
