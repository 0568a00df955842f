using System.Globalization;
using System.Text.RegularExpressions;
using IcosFl.Contracts;
using IcosFl.Learning.NodeData;

namespace IcosFl.EndToEnd.Tests.Experiment;

/// <summary>
/// data/traces (issue 15 part 1): every committed trace is a node-data file the import takes as it is (3 s apart, in
/// time order, no bad rows, no repeated timestamps, a forecast metric that varies), and its README row names it with
/// its row count and its first timestamp, so the README cannot drift from the files.
/// </summary>
public sealed partial class Reading_the_committed_real_traces
{
    private static readonly string Folder = Path.Combine(CliProcess.RepositoryRoot, "data", "traces");

    public static TheoryData<string> Files() => new(Directory.GetFiles(Folder, "*.csv").Select(Path.GetFileName).OfType<string>().Order());

    [Fact]
    public void Should_hold_traces()
    {
        Assert.NotEmpty(Files());
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Should_import_at_the_scrape_interval_without_a_warning(string file)
    {
        var csv = NodeDataCsv.ReadFile(Path.Combine(Folder, file));

        Assert.Empty(csv.Errors);
        Assert.Equal(["timestamp", Metrics.CpuUsage, Metrics.MemoryUsage, NodeMetrics.CpuUtilisation], csv.Columns);
        var check = TraceCheck.Check(file, csv, Metrics.CpuUsage, TraceCheck.DefaultStepMs, repair: false);
        Assert.Null(check.Problem);
        Assert.Empty(check.Warnings);
        Assert.Equal(TraceCheck.DefaultStepMs, check.StepMs);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Should_be_described_in_the_readme_with_its_rows_and_start(string file)
    {
        var csv = NodeDataCsv.ReadFile(Path.Combine(Folder, file));
        var readme = File.ReadAllLines(Path.Combine(Folder, "README.md"));

        var row = Assert.Single(readme, line => line.StartsWith($"| `{file}` |", StringComparison.Ordinal));
        var cells = row.Split('|').Select(c => c.Trim()).ToArray();
        Assert.Equal(csv.Rows.ToString(CultureInfo.InvariantCulture), cells[4]);
        var first = csv.GoodRows[0].Timestamp.UtcDateTime;
        Assert.Equal(first.ToString("HH:mm", CultureInfo.InvariantCulture), Clock().Match(cells[2]).Value[..5]);
        Assert.StartsWith(first.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), cells[2]);
    }

    [GeneratedRegex(@"\d\d:\d\d(:\d\d)?")]
    private static partial Regex Clock();
}
