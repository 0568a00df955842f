using IcosFl.Learning.NodeData;

namespace IcosFl.EndToEnd.Tests;

/// <summary>`icosfl data export`: a node's store back out as an import-format CSV (how the real traces in data/traces were made).</summary>
public sealed class Exporting_node_data : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "icosfl-export-" + Guid.NewGuid().ToString("N"));

    public Exporting_node_data() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Should_write_what_was_imported_row_for_row_and_import_again_to_the_same_store()
    {
        var source = Path.Combine(Simulating_with_node_data_files.Fixtures, "controller.csv");
        var data = Path.Combine(_dir, "data");
        var imported = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "data", "import", "--file", source, "--node", "edge-a", "--data-dir", data);
        Assert.True(imported.ExitCode == 0, imported.StdErr);

        var exportedFile = Path.Combine(_dir, "edge-a.csv");
        var exported = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "data", "export", "--node", "edge-a", "--data-dir", data, "--out", exportedFile);
        Assert.True(exported.ExitCode == 0, exported.StdErr);

        var original = NodeDataCsv.ReadFile(source);
        var roundTrip = NodeDataCsv.ReadFile(exportedFile);
        Assert.Empty(roundTrip.Errors);
        Assert.Equal(original.Columns, roundTrip.Columns);
        Assert.Equal(original.Rows, roundTrip.Rows);
        Assert.Equal(
            original.Samples.Select(s => (s.Metric, s.Timestamp, (float)s.Value)).OrderBy(s => s.Timestamp).ThenBy(s => s.Metric),
            roundTrip.Samples.Select(s => (s.Metric, s.Timestamp, (float)s.Value)).OrderBy(s => s.Timestamp).ThenBy(s => s.Metric));
    }

    [Fact]
    public async Task Should_refuse_a_node_that_holds_nothing_naming_it()
    {
        var exported = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "data", "export", "--node", "nobody", "--data-dir", Path.Combine(_dir, "data"),
            "--out", Path.Combine(_dir, "out.csv"));

        Assert.NotEqual(0, exported.ExitCode);
        Assert.Contains("node nobody holds no points", exported.StdErr);
        Assert.False(File.Exists(Path.Combine(_dir, "out.csv")));
    }
}
