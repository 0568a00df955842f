using System.Globalization;
using System.Text;
using IcosFl.Contracts;
using IcosFl.Learning.NodeData;
using IcosFl.TestKit;

namespace IcosFl.Learning.Tests.NodeData;

/// <summary>docs/node-data.md, "Bad input": real files through the real reader, check and folder loader.</summary>
public sealed class BadInputTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    private readonly TemporaryDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A CSV of cpu_usage and memory_usage at the given seconds after T0 (line n+2 holds row n), values varying.</summary>
    private static string Csv(IEnumerable<double> seconds, Func<int, double>? cpu = null)
    {
        var text = new StringBuilder("timestamp,cpu_usage,memory_usage\n");
        int i = 0;
        foreach (var s in seconds)
        {
            double value = cpu?.Invoke(i) ?? 1 + Math.Sin(i / 5.0);
            text.Append(CultureInfo.InvariantCulture, $"{T0.AddSeconds(s):yyyy-MM-ddTHH:mm:ss.fffZ},{value.ToString("R", CultureInfo.InvariantCulture)},{2000 + i}\n");
            i++;
        }

        return text.ToString();
    }

    private static IEnumerable<double> Every3s(int count, double from = 0) => Enumerable.Range(0, count).Select(k => from + 3.0 * k);

    private static TraceCheckResult Check(string csv, long? expected = null, bool repair = true) =>
        TraceCheck.Check("node.csv", NodeDataCsv.Read(new StringReader(csv)), Metrics.CpuUsage, expected, repair);

    [Fact]
    public void A_regular_file_passes_untouched_without_warnings()
    {
        var csv = NodeDataCsv.Read(new StringReader(Csv(Every3s(50))));
        var result = TraceCheck.Check("node.csv", csv, Metrics.CpuUsage, 3000, repair: true);

        Assert.Null(result.Problem);
        Assert.Empty(result.Warnings);
        Assert.Equal(3000, result.StepMs);
        Assert.Same(csv, result.Csv);
    }

    [Fact]
    public void Rows_out_of_time_order_are_refused_naming_the_file_and_lines()
    {
        // Rows 0..9, then row 10 is stamped before row 9: lines 11 and 12.
        var seconds = Every3s(20).ToArray();
        (seconds[9], seconds[10]) = (seconds[10], seconds[9]);
        var result = Check(Csv(seconds));

        Assert.Equal(
            "node.csv: 1 row is earlier than the row before: line 12 (2026-11-28T10:00:27.0000000+00:00) after line 11 " +
            "(2026-11-28T10:00:30.0000000+00:00); the rows must be in time order (sort them by timestamp); nothing was used",
            result.Problem);
    }

    [Fact]
    public void Rows_repeating_a_timestamp_are_dropped_keeping_the_first_with_a_warning_naming_the_lines()
    {
        var seconds = Every3s(20).ToList();
        seconds.Insert(5, seconds[4]); // line 7 repeats line 6's time
        var result = Check(Csv(seconds, i => i == 5 ? 99 : 1 + i % 3));

        Assert.Null(result.Problem);
        Assert.Equal(["node.csv: 1 row repeats the timestamp of the row before and was dropped, the first row of each timestamp kept: line 7 (= line 6, 2026-11-28T10:00:12.0000000+00:00)"],
            result.Warnings);
        var cpu = result.Csv.Samples.Where(s => s.Metric == Metrics.CpuUsage).ToList();
        Assert.Equal(20, cpu.Count);
        Assert.DoesNotContain(cpu, s => s.Value == 99);
        Assert.Equal(T0.AddSeconds(12), cpu[4].Timestamp);
    }

    [Fact]
    public void A_short_gap_is_filled_by_linear_interpolation_onto_the_grid_with_a_warning()
    {
        // 0..27 s, then 36 s: the samples at 30 and 33 s are missing (2, a short gap).
        var seconds = Every3s(10).Concat(Every3s(20, from: 36)).ToList();
        var result = Check(Csv(seconds, i => i < 10 ? 1.0 : 4.0));

        Assert.Null(result.Problem);
        Assert.Equal(["node.csv: 1 short gap (at most 2 missing samples): line 11 to line 12 (9 s, 2 missing); 2 points filled by linear interpolation"],
            result.Warnings);
        var cpu = result.Csv.Samples.Where(s => s.Metric == Metrics.CpuUsage).ToList();
        Assert.Equal(32, cpu.Count);
        Assert.Equal(Every3s(32).Select(s => T0.AddSeconds(s)), cpu.Select(s => s.Timestamp));
        Assert.Equal([1.0, 2.0, 3.0, 4.0], cpu.Skip(9).Take(4).Select(s => Math.Round(s.Value, 9)));
        var memory = result.Csv.Samples.Where(s => s.Metric == Metrics.MemoryUsage).ToList();
        Assert.Equal([2009.0, 2009 + 1 / 3.0, 2009 + 2 / 3.0, 2010.0], memory.Skip(9).Take(4).Select(s => s.Value), new Close());
    }

    [Fact]
    public void A_long_gap_splits_the_file_and_only_the_stretch_after_the_last_one_is_used()
    {
        // 40 rows, a 1-minute hole (19 missing), 30 rows, a 12 s hole (3 missing), 25 rows.
        var seconds = Every3s(40).Concat(Every3s(30, from: 117 + 60)).Concat(Every3s(25, from: 177 + 87 + 12)).ToList();
        var result = Check(Csv(seconds));

        Assert.Null(result.Problem);
        Assert.Equal("node.csv: 2 long gaps (more than 2 missing samples): line 41 to line 42 (60 s, 19 missing), " +
                      "line 71 to line 72 (12 s, 3 missing); only the 25 rows from line 72 on are used, the 70 rows before set aside (no window straddles a gap)",
            Assert.Single(result.Warnings));
        var cpu = result.Csv.Samples.Where(s => s.Metric == Metrics.CpuUsage).ToList();
        Assert.Equal(25, cpu.Count);
        Assert.Equal(T0.AddSeconds(276), cpu[0].Timestamp);
    }

    [Fact]
    public void Another_scrape_interval_is_refused_when_one_is_expected_and_warned_about_when_the_files_own_step_is_used()
    {
        var csv = Csv(Enumerable.Range(0, 30).Select(k => 60.0 * k));

        Assert.Equal("node.csv: its rows are 60 s apart (median spacing) but the scrape interval is 3 s; nothing was used " +
                     "(resample the file, or give the interval the node really samples at)", Check(csv, expected: 3000).Problem);
        var own = Check(csv);
        Assert.Null(own.Problem);
        Assert.Equal(60_000, own.StepMs);
        Assert.Equal(["node.csv: its rows are 60 s apart (median spacing), not the 3 s scrape interval; used at its own step, " +
                      "so one model step (and each forecast-horizon step) is 60 s here"], own.Warnings);
        // Jitter within 10 % of the interval is the interval.
        Assert.Null(Check(Csv(Enumerable.Range(0, 30).Select(k => 3.2 * k)), expected: 3000).Problem);
    }

    [Fact]
    public void A_constant_forecast_metric_is_refused_for_training_and_warned_about_on_import()
    {
        var csv = Csv(Every3s(30), _ => 0.5);

        Assert.Equal("node.csv: cpu_usage is 0.5 at all 30 points, a constant series with nothing to learn (its min/max scaling has no range); not trained on",
            Check(csv).Problem);
        var import = Check(csv, expected: 3000, repair: false);
        Assert.Null(import.Problem);
        Assert.Equal(["node.csv: cpu_usage is 0.5 at all 30 points, a constant series with nothing to learn (its min/max scaling has no range); a worker will decline to train on it"],
            import.Warnings);
    }

    [Fact]
    public void Import_mode_stores_rows_as_recorded_and_says_how_training_treats_the_gaps()
    {
        var csv = NodeDataCsv.Read(new StringReader(Csv(Every3s(10).Concat(Every3s(10, from: 36)))));
        var result = TraceCheck.Check("node.csv", csv, null, 3000, repair: false);

        Assert.Null(result.Problem);
        Assert.Same(csv, result.Csv);
        Assert.Equal(["node.csv: 1 short gap (at most 2 missing samples): line 11 to line 12 (9 s, 2 missing); stored as recorded, filled by linear interpolation when trained on"],
            result.Warnings);
    }

    [Fact]
    public void A_data_folder_repairs_each_file_reports_the_warnings_and_counts_what_is_left()
    {
        _dir.Write("a.csv", Csv(Every3s(40).Concat(Every3s(30, from: 300))));
        var warnings = new List<string>();

        Assert.False(NodeDataDirectory.TryRead(_dir.Path, Metrics.CpuUsage, out _, out var problem, minimumPoints: 51, needFor: "time-step 10 ...", warn: warnings.Add));
        Assert.Equal("a.csv holds 30 cpu_usage points to use (after the repairs above); 51 are needed (time-step 10 ...)", problem);
        Assert.Equal("a.csv: 1 long gap (more than 2 missing samples): line 41 to line 42 (3.1 min, 60 missing); only the 30 rows from line 42 on are used, the 40 rows before set aside (no window straddles a gap)",
            Assert.Single(warnings));

        Assert.True(NodeDataDirectory.TryRead(_dir.Path, Metrics.CpuUsage, out var files, out problem, minimumPoints: 30));
        Assert.Equal(30, files[0].Values(Metrics.CpuUsage).Length);
        Assert.Equal(T0.AddSeconds(300).ToUnixTimeMilliseconds(), files[0].ToStore("a").Points(Metrics.CpuUsage).TimesUnixMs[0]);
    }

    [Fact]
    public void A_data_folder_whose_files_have_different_steps_is_refused_naming_each()
    {
        _dir.Write("a.csv", Csv(Every3s(30)));
        _dir.Write("b.csv", Csv(Enumerable.Range(0, 30).Select(k => 10.0 * k)));

        Assert.False(NodeDataDirectory.TryRead(_dir.Path, Metrics.CpuUsage, out _, out var problem));
        Assert.Equal($"--data {_dir.Path}: the files' rows are not equally spaced across nodes (median spacing a.csv 3 s, b.csv 10 s); " +
                     "a model step must mean the same time on every node, so resample them to one interval", problem);
    }

    [Fact]
    public void A_worker_series_is_repaired_by_its_timestamps_and_a_short_or_constant_one_is_named_with_its_counts()
    {
        var store = new InMemoryNodeStore("edge", StoreLimits.Default);
        // 60 points, a 30 s hole, 40 points with one sample missing in the middle.
        var times = Every3s(60).Concat(Every3s(40, from: 207).Where(s => s != 267)).ToList();
        store.Append(times.Select((s, i) => new MetricSample(Metrics.CpuUsage, T0.AddSeconds(s), 1 + (i % 7))).ToList());
        var config = RunConfig.Default with { TimeStep = 5, ForecastHorizon = 5 };
        Assert.True(FeatureSeries.TryRead(store, config, out var series, out _));
        Assert.Equal(99, series.Count);

        var warnings = new List<string>();
        var repaired = SeriesChecks.Regularise(series, warnings);

        Assert.Equal(40, repaired.Count);
        Assert.Equal(Every3s(40, from: 207).Select(s => T0.AddSeconds(s).ToUnixTimeMilliseconds()), repaired.TimesUnixMs!);
        Assert.Equal(2, warnings.Count);
        Assert.StartsWith("1 short gap in the series (step 3 s), first 2026-11-28T10:04:24.0000000+00:00 to 2026-11-28T10:04:30.0000000+00:00: 1 points filled", warnings[0]);
        Assert.StartsWith("1 long gap in the series (more than 2 missing samples at step 3 s), the last 2026-11-28T10:02:57.0000000+00:00 to 2026-11-28T10:03:27.0000000+00:00: " +
                          "training uses the 39 points after it, the 60 before set aside", warnings[1]);

        Assert.Null(SeriesChecks.TooShort(repaired, config));
        int needed = LocalTraining.MinimumPoints(config) + 100;
        Assert.Equal($"this node holds 40 cpu_usage points (after the gap repairs in the log); {needed} are needed: time-step 5 and train-test-split 0.8 need {needed - 100}, plus forecast-horizon 100",
            SeriesChecks.TooShort(repaired, config with { ForecastHorizon = 100 }, repaired: true));
        Assert.Null(SeriesChecks.Constant(repaired));
        Assert.Equal("cpu_usage is 2 at all 3 points, a constant series with nothing to learn (its min/max scaling has no range)",
            SeriesChecks.Constant(FeatureSeries.Univariate(Metrics.CpuUsage, [2f, 2f, 2f])));
    }

    [Fact]
    public void A_replay_source_refuses_rows_out_of_time_order()
    {
        var seconds = Every3s(5).ToArray();
        (seconds[1], seconds[2]) = (seconds[2], seconds[1]);

        var e = Assert.Throws<FormatException>(() => new ReplaySource(NodeDataCsv.Read(new StringReader(Csv(seconds)))));
        Assert.StartsWith("Cannot replay the replayed file: 1 row is earlier than the row before: line 4 ", e.Message);
    }

    private sealed class Close : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) < 1e-6;

        public int GetHashCode(double obj) => 0;
    }
}
