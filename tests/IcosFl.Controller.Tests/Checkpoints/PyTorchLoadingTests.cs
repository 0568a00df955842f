using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using IcosFl.Contracts;
using IcosFl.Controller.Checkpoints;
using IcosFl.Learning;
using IcosFl.Learning.Prediction;
using IcosFl.TestKit;

namespace IcosFl.Controller.Tests.Checkpoints;

/// <summary>
/// Runs where Debian's python3-torch is installed (apt-get install -y python3-torch). Skipped elsewhere, except
/// where ICOSFL_REQUIRE_PYTORCH=1 (tests/run.sh, which installs it) says it must run: there a missing torch is a
/// failure, so CI cannot skip it silently.
/// </summary>
public sealed class PyTorchFactAttribute : FactAttribute
{
    public const string Python = "/usr/bin/python3";

    /// <summary>How long <c>import torch</c> may take on two busy cores before the probe gives up.</summary>
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Why PyTorch cannot be used here, or null when it can. Bounded: a probe that never ends must not hang test discovery.</summary>
    private static readonly Lazy<string?> Missing = new(() =>
    {
        if (!File.Exists(Python))
            return $"{Python} does not exist";
        try
        {
            var probe = ChildProcess.RunAsync(new ProcessStartInfo(Python, ["-c", "import torch"]), ProbeTimeout).GetAwaiter().GetResult();
            return probe.ExitCode == 0 ? null : $"{Python} -c 'import torch' exited with {probe.ExitCode}: {probe.StdErr.Trim()}";
        }
        catch (TimeoutException e)
        {
            return e.Message;
        }
    });

    public PyTorchFactAttribute()
    {
        if (Missing.Value is not null && Environment.GetEnvironmentVariable("ICOSFL_REQUIRE_PYTORCH") != "1")
            Skip = "PyTorch is not installed (apt-get install -y python3-torch)";
    }

    /// <summary>Fails the test, naming what is missing, when it runs without PyTorch (ICOSFL_REQUIRE_PYTORCH=1).</summary>
    public static void RequireTorch()
    {
        if (Missing.Value is { } reason)
            Assert.Fail($"ICOSFL_REQUIRE_PYTORCH=1 but PyTorch cannot be used (apt-get install -y python3-torch): {reason}");
    }
}

public sealed class PyTorchLoadingTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "icosfl-torch-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder))
            Directory.Delete(_folder, recursive: true);
    }

    [PyTorchFact]
    public async Task The_documented_script_reproduces_a_multivariate_forecast_holding_the_input_metrics()
    {
        PyTorchFactAttribute.RequireTorch();
        var checkpoint = MultivariateModelTests.Sample(Guid.NewGuid());
        await ModelExport.WriteAsync(checkpoint, _folder);
        float[][] series =
        [
            [1.2f, 2.5f, 3.1f, 2.2f, 1.7f, 0.9f, 1.4f],
            [2048f, 2100f, 3000f, 2500f, 1500f, 1200f, 4000f],
            [30f, 45.5f, 80f, 60f, 25f, 90f, 50f],
        ];
        var config = checkpoint.RunConfig;
        var features = FeatureSeries.Aligned(config.InputFeatures(), series);

        var expected = Forecaster.Forecast(ForecastModel.From(checkpoint.Weights, config), checkpoint.SavedScalers(out _)!, features, 12);

        var actual = await RunScriptAsync(string.Join(";", series.Select(Join)), 12);
        Assert.Equal(12, actual.Length);
        for (int i = 0; i < actual.Length; i++)
            Assert.Equal(expected[i], actual[i], 5);
    }

    private static string Join(float[] values) => string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    /// <summary>How long the loader script may take (importing torch on two busy cores included).</summary>
    private static readonly TimeSpan PythonTimeout = TimeSpan.FromMinutes(5);

    private async Task<double[]> RunScriptAsync(string values, int horizon)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Checkpoints", "load_exported_model.py");
        var (exitCode, output, errors) = await ChildProcess.RunAsync(
            new ProcessStartInfo(PyTorchFactAttribute.Python, [script, _folder, values, horizon.ToString(CultureInfo.InvariantCulture)]), PythonTimeout);
        Assert.True(exitCode == 0, errors);
        return JsonSerializer.Deserialize<double[]>(output)!;
    }

    [PyTorchFact]
    public async Task The_documented_script_loads_the_export_into_PyTorch_and_reproduces_the_forecast()
    {
        PyTorchFactAttribute.RequireTorch();
        // A head of 5 steps for a forecast of 12: the script must recurse block by block (5, 5, 2) as IcosFl does.
        var config = RunConfig.Default with { HiddenLayerSize = 8, NumLayers = 2, TimeStep = 6, Seed = 5, ForecastHorizon = 5 };
        var checkpoint = CheckpointStoreTests.Sample(Guid.NewGuid(), 4, 0.2) with
        {
            RunConfig = config,
            Weights = LocalTraining.InitialWeights(config),
            Scaler = new ScalerParameters(ScalerParameters.MinMax, 0.5f, 4.5f, "test", 100),
        };
        await ModelExport.WriteAsync(checkpoint, _folder);
        float[] series = [1.2f, 2.5f, 3.1f, 2.2f, 1.7f, 0.9f, 1.4f, 3.8f];

        var expected = Forecaster.Forecast(ForecastModel.From(checkpoint.Weights, config), checkpoint.Scaler.ToScaler(), series, 12);

        var script = Path.Combine(AppContext.BaseDirectory, "Checkpoints", "load_exported_model.py");
        var values = string.Join(",", series.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
        var (exitCode, output, errors) = await ChildProcess.RunAsync(
            new ProcessStartInfo(PyTorchFactAttribute.Python, [script, _folder, values, "12"]), PythonTimeout);
        Assert.True(exitCode == 0, errors);
        var actual = JsonSerializer.Deserialize<double[]>(output)!;

        Assert.Equal(12, actual.Length);
        for (int i = 0; i < actual.Length; i++)
            Assert.Equal(expected[i], actual[i], 5);
    }
}
