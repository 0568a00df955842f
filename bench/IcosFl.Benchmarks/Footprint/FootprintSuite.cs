using System.Globalization;

namespace IcosFl.Benchmarks.Footprint;

/// <summary>One figure of the footprint suite: its value (the median of its runs), its unit and its target.</summary>
public sealed record FootprintRow(string Figure, double Value, string Unit, string Target, bool? Meets, IReadOnlyList<double> Runs)
{
    public IReadOnlyDictionary<string, object> ToRow() => new Dictionary<string, object>
    {
        ["figure"] = Figure,
        ["value"] = Value,
        ["unit"] = Unit,
        ["target"] = Target,
        ["meets"] = Meets switch { true => "yes", false => "NO", null => "-" },
        ["runs"] = string.Join(" / ", Runs.Select(r => r.ToString(Math.Abs(r) >= 100 ? "0" : "0.####", CultureInfo.InvariantCulture))),
    };
}

/// <summary>
/// The node's footprint (issue 19, part 2): local training against PyTorch (<see cref="TrainingComparison"/>), then the
/// deployed icosfl controller and worker processes (<see cref="DeployedFootprint"/>): start-up, round 1, idle CPU and
/// resident memory, each figure beside its target.
/// </summary>
public static class FootprintSuite
{
    /// <summary>--variants: the runtime settings the deployed processes are measured with (names of <see cref="DeployedFootprint.Variants"/>).</summary>
    public static async Task<SuiteResult> RunAsync(BenchServers servers, bool quick, IReadOnlyList<string> variants, bool skipTraining)
    {
        var rows = new List<FootprintRow>();
        double trainingRatio = double.NaN;
        if (!skipTraining)
        {
            var training = await TrainingComparison.RunAsync(quick);
            rows.AddRange(training);
            trainingRatio = training.First(r => r.Unit == "x").Value;
        }
        rows.AddRange(await DeployedFootprint.RunAsync(servers, quick, variants));
        var missed = rows.Where(r => r.Meets == false).ToList();
        return new SuiteResult("footprint", rows.Select(r => r.ToRow()).ToList(), trainingRatio,
            "TorchSharp's time per epoch / PyTorch's, one trainer alone, IcosFl's default threads",
            "every figure within its target (the meets column)", missed.Count == 0);
    }
}
