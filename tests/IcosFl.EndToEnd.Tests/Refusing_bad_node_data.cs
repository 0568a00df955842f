using System.Text.Json;

namespace IcosFl.EndToEnd.Tests;

/// <summary>
/// docs/node-data.md, "Bad input", through the real CLI: import, experiment --data and simulate --data on files made
/// from the simulate fixture (controller.csv: 240 rows at 3 s, lines 2..241).
/// </summary>
public sealed class Refusing_bad_node_data : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "icosfl-bad-" + Guid.NewGuid().ToString("N"));
    private readonly string[] _fixture = File.ReadAllLines(Path.Combine(Simulating_with_node_data_files.Fixtures, "controller.csv"));

    public Refusing_bad_node_data() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, IEnumerable<string> lines)
    {
        var path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path, lines);
        return path;
    }

    /// <summary>The fixture with data rows at these 0-based indices removed.</summary>
    private IEnumerable<string> Without(params int[] rows) => _fixture.Where((_, i) => i == 0 || !rows.Contains(i - 1));

    private async Task<int> Stored(string data)
    {
        var shown = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "data", "show", "--node", "edge", "--data-dir", data, "--json");
        Assert.True(shown.ExitCode == 0, shown.StdErr);
        using var json = JsonDocument.Parse(shown.StdOut);
        return json.RootElement.GetProperty("metrics").EnumerateArray().Sum(m => m.GetProperty("points").GetInt32());
    }

    [Fact]
    public async Task Import_refuses_rows_out_of_order_and_another_interval_naming_the_file_and_stores_nothing()
    {
        var data = Path.Combine(_dir, "data");
        var swapped = _fixture.ToArray();
        (swapped[10], swapped[11]) = (swapped[11], swapped[10]);
        var file = Write("swapped.csv", swapped);

        var refused = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "data", "import", "--file", file, "--node", "edge", "--data-dir", data);

        Assert.Equal(2, refused.ExitCode);
        Assert.Equal("icosfl data import: swapped.csv: 1 row is earlier than the row before: line 12 (2026-11-28T10:00:27.0000000+00:00) after line 11 " +
                     "(2026-11-28T10:00:30.0000000+00:00); the rows must be in time order (sort them by timestamp); nothing was stored", refused.StdErr.Trim());
        Assert.Equal(0, await Stored(data));

        // Every second row only: 6 s apart, refused at the default 3 s, stored when that is the node's interval.
        var sparse = Write("sparse.csv", _fixture.Where((_, i) => i == 0 || i % 2 == 1));
        var wrongInterval = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "data", "import", "--file", sparse, "--node", "edge", "--data-dir", data);
        Assert.Equal(2, wrongInterval.ExitCode);
        Assert.Equal("icosfl data import: sparse.csv: its rows are 6 s apart (median spacing) but the scrape interval is 3 s; nothing was stored " +
                     "(resample the file, or give the interval the node really samples at) (--scrape-interval 3)", wrongInterval.StdErr.Trim());
        Assert.Equal(0, await Stored(data));
        var at6 = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "data", "import", "--file", sparse, "--node", "edge", "--data-dir", data, "--scrape-interval", "6");
        Assert.True(at6.ExitCode == 0, at6.StdErr);
        Assert.Equal(2 * 120, await Stored(data));
    }

    [Fact]
    public async Task Import_stores_repeats_and_gaps_as_recorded_with_warnings_naming_the_lines()
    {
        var data = Path.Combine(_dir, "data");
        // Row 20 (line 22) repeated after itself, rows 50-51 (lines 52-53) missing: a short gap.
        var lines = Without(50, 51).ToList();
        lines.Insert(22, lines[21]);
        var file = Write("gappy.csv", lines);

        var imported = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "data", "import", "--file", file, "--node", "edge", "--data-dir", data);

        Assert.True(imported.ExitCode == 0, imported.StdErr);
        Assert.Contains("icosfl data import: warning: gappy.csv: 1 row repeats the timestamp of the row before and was dropped, the first row of each timestamp kept: " +
                        "line 23 (= line 22, 2026-11-28T10:01:00.0000000+00:00)", imported.StdErr);
        Assert.Contains("icosfl data import: warning: gappy.csv: 1 short gap (at most 2 missing samples): line 52 to line 53 (9 s, 2 missing); " +
                        "stored as recorded, filled by linear interpolation when trained on", imported.StdErr);
        Assert.Equal(2 * 238, await Stored(data));
    }

    [Fact]
    public async Task Experiment_and_simulate_warn_about_what_they_repair_and_refuse_a_constant_series_naming_the_file()
    {
        var folder = Path.Combine(_dir, "fleet");
        Write("fleet/a.csv", Without(10, 11, 12, 13));
        Write("fleet/b.csv", _fixture.Select((l, i) => i == 0 ? l : string.Join(',', l.Split(',')[0], "0.5", l.Split(',')[2])));

        foreach (var verb in new[] { "experiment", "simulate" })
        {
            var refused = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), verb, "--data", folder, "--run-config", "time-step=10");

            Assert.True(refused.ExitCode == 2, $"{verb}: exit {refused.ExitCode}; stderr:\n{refused.StdErr}");
            Assert.Equal("", refused.StdOut);
            var stderr = refused.StdErr.Trim().Split('\n');
            Assert.Equal(
                [
                    $"icosfl {verb}: warning: a.csv: 1 long gap (more than 2 missing samples): line 11 to line 12 (15 s, 4 missing); " +
                    "only the 226 rows from line 12 on are used, the 10 rows before set aside (no window straddles a gap)",
                    $"icosfl {verb}: b.csv: cpu_usage is 0.5 at all 240 points, a constant series with nothing to learn (its min/max scaling has no range); not trained on",
                ],
                stderr);
        }
    }
}
