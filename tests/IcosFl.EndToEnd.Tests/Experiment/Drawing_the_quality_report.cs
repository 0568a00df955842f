using System.Buffers.Binary;
using System.Text.Json;
using IcosFl.Cli.Experiment;
using IcosFl.Contracts;
using IcosFl.Learning;
using SkiaSharp;

namespace IcosFl.EndToEnd.Tests.Experiment;

/// <summary>`experiment --plot FILE.png`: the picture is written, is a PNG of the documented size, and shows the curves.</summary>
public sealed class Drawing_the_quality_report : IDisposable
{
    private static readonly string Data = Path.Combine(CliProcess.RepositoryRoot, "tests", "IcosFl.EndToEnd.Tests", "Fixtures", "simulate-data");
    private const string Small = "num-server-rounds=2 local-epochs=1 hidden-layer-size=4 time-step=5 forecast-horizon=5 seed=7";
    private readonly string _folder = Directory.CreateTempSubdirectory("icosfl-plot-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Width and height from the PNG signature and IHDR chunk, or a failure naming what is wrong.</summary>
    private static (int Width, int Height) PngSize(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 33, $"{path} holds only {bytes.Length} bytes");
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        return (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }

    /// <summary>Pixels of exactly this colour (the plot draws the forecasts in one colour, the actual values in another).</summary>
    private static int Count(SKBitmap bitmap, SKColor color) => bitmap.Pixels.Count(p => p == color);

    [Fact]
    public void Should_draw_every_worker_with_actual_values_forecasts_and_errors_per_step()
    {
        var config = RunConfig.Default with
        {
            NumServerRounds = 1, LocalEpochs = 1, HiddenLayerSize = 8, TimeStep = 10, ForecastHorizon = 10, LearningRate = 0.005, Seed = 42,
        };
        var series = Enumerable.Range(1, 2).Select(i => ($"worker-{i}", SyntheticFleet.Series(config.Metric, i, 600, config.Seed))).ToList();
        var report = QualityExperiment.Run(ExperimentSettings.Univariate(series, config, "synthetic"), _ => { });
        var path = Path.Combine(_folder, "report.png");

        ExperimentPlot.Save(report, config.Metric, path);

        Assert.Equal((ExperimentPlot.Width, ExperimentPlot.HeightFor(2)), PngSize(path));
        using var bitmap = SKBitmap.Decode(path);
        Assert.NotNull(bitmap);
        // The federated forecast (red), the actual values (near-black) and the federated error curve (blue) are all drawn.
        Assert.True(Count(bitmap, new SKColor(0xd6, 0x27, 0x28)) > 500, "no federated forecast drawn");
        Assert.True(Count(bitmap, new SKColor(0x22, 0x22, 0x22)) > 500, "no actual values drawn");
        Assert.True(Count(bitmap, new SKColor(0x1f, 0x77, 0xb4)) > 100, "no federated error curve drawn");
        Assert.Equal(3, report.Curves[0].HorizonOrigins.Count);
        Assert.Equal(10, report.Curves[0].HorizonForecasts[0].Count);
    }

    [Fact]
    public async Task Should_write_the_picture_and_the_per_worker_report_over_data_files()
    {
        var path = Path.Combine(_folder, "data.png");

        var result = await CliProcess.RunAsync(TimeSpan.FromMinutes(3), "experiment", "--data", Data, "--json", "--run-config", Small, "--plot", path);

        Assert.True(result.ExitCode is 0 or 1, $"exit {result.ExitCode} (0: targets met, 1: missed): {result.StdErr}");
        Assert.Equal((ExperimentPlot.Width, ExperimentPlot.HeightFor(3)), PngSize(path));
        Assert.Contains($"picture written to {path}", result.StdErr);
        using var report = JsonDocument.Parse(result.StdOut);
        var root = report.RootElement;
        Assert.Equal(root.GetProperty("targetsMet").GetBoolean() ? 0 : 1, result.ExitCode);
        Assert.Equal(6, root.GetProperty("targets").GetArrayLength());
        Assert.True(root.GetProperty("durationMs").GetDouble() > 0);
        Assert.Equal("federated", root.GetProperty("servedModel").GetString());
        var workers = root.GetProperty("workers").EnumerateArray().ToList();
        Assert.Equal(["controller", "edge-a", "edge-b"], workers.Select(w => w.GetProperty("worker").GetString()));
        foreach (var worker in workers)
        {
            var models = worker.GetProperty("rows").EnumerateArray().Select(r => (r.GetProperty("model").GetString(), r.GetProperty("horizon").GetInt32())).ToList();
            Assert.Contains(("federated+personalized", 5), models);
            Assert.Contains(("linear-ar", 1), models);
            Assert.True(worker.GetProperty("personalization").TryGetProperty("fineTunedKept", out _));
        }
    }

    [Theory]
    [InlineData("no-such-folder/report.png", "folder")]
    [InlineData("report.svg", "give a name ending in .png")]
    public async Task Should_refuse_a_plot_path_it_cannot_write_naming_it(string name, string reason)
    {
        var path = Path.Combine(_folder, name);

        var result = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "experiment", "--data", Data, "--run-config", Small, "--plot", path);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"--plot {path}", result.StdErr);
        Assert.Contains(reason, result.StdErr);
        Assert.False(File.Exists(path));
    }
}
