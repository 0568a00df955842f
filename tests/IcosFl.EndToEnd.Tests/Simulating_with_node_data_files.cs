using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using IcosFl.Contracts;
using IcosFl.Controller.Checkpoints;
using IcosFl.Learning;
using IcosFl.Learning.NodeData;

namespace IcosFl.EndToEnd.Tests;

/// <summary>`simulate --data DIR` on small CSV fixtures (edge-a, edge-b and the controller's own file), and errors naming the file.</summary>
public sealed class Simulating_with_node_data_files : IDisposable
{
    public static string Fixtures => Path.Combine(AppContext.BaseDirectory, "Fixtures", "simulate-data");

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "icosfl-e2e-" + Guid.NewGuid().ToString("N"));

    public Simulating_with_node_data_files() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The controller's file as its store reads it: cpu_usage in time order, as floats.</summary>
    public static float[] ControllerSeries() =>
        NodeDataCsv.ReadFile(Path.Combine(Fixtures, "controller.csv")).Samples
            .Where(s => s.Metric == "cpu_usage").OrderBy(s => s.Timestamp).Select(s => (float)s.Value).ToArray();

    [Fact]
    public async Task Should_train_the_workers_named_after_the_files_and_evaluate_on_the_controllers_file()
    {
        var checkpoints = Path.Combine(_dir, "checkpoints");
        var result = await CliProcess.RunAsync(TimeSpan.FromMinutes(3),
            "simulate", "--data", Fixtures, "--rounds", "2", "--run-config", "local-epochs=1", "--json", "--checkpoint-dir", checkpoints);

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}; stderr:\n{result.StdErr}");
        using var json = JsonDocument.Parse(result.StdOut);
        var root = json.RootElement;
        Assert.Equal(Fixtures, root.GetProperty("data").GetString());
        Assert.Equal(2, root.GetProperty("workers").GetInt32());
        Assert.Contains("edge-a 240, edge-b 240 points; controller: controller.csv, 240 points", result.StdErr);

        var latest = FileCheckpointStore.Load(Path.Combine(checkpoints, root.GetProperty("federationId").GetString()!, "latest.json"));
        Assert.Equal(["edge-a", "edge-b"], latest.Metrics.Participants.Order());
        // The controller's scaler and evaluation are those of controller.csv: its first 80 % (192 points), and the
        // final centralized RMSE is the latest model evaluated on that file.
        var controller = ControllerSeries();
        Assert.Equal(new ScalerParameters("minmax", controller[..192].Min(), controller[..192].Max(), "node controller, training split", 192) { Metric = Metrics.CpuUsage }, latest.Scaler);
        Assert.Equal(LocalTraining.Evaluate(latest.Weights, controller, latest.RunConfig).Rmse, root.GetProperty("final").GetProperty("rmse").GetDouble(), 9);
    }

    [Fact]
    public async Task Should_refuse_a_folder_it_cannot_use_naming_the_folder_or_file_and_the_counts()
    {
        async Task<string> Refused(params string[] args)
        {
            var result = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), ["simulate", .. args]);
            Assert.True(result.ExitCode == 2, $"exit {result.ExitCode} for {string.Join(' ', args)}; stderr:\n{result.StdErr}");
            Assert.Equal("", result.StdOut);
            return result.StdErr.Trim();
        }

        var missing = Path.Combine(_dir, "nowhere");
        Assert.Equal($"icosfl simulate: --data {missing} does not exist", await Refused("--data", missing));
        Assert.Equal($"icosfl simulate: --data {_dir} holds no .csv files (one per worker, columns timestamp,cpu_usage,...)",
            await Refused("--data", _dir));
        Assert.Equal("icosfl simulate: controller.csv has no power_consumption values (metric is chosen with --run-config metric=...)",
            await Refused("--data", Fixtures, "--run-config", "metric=power_consumption"));
        Assert.Equal("icosfl simulate: controller.csv holds 240 cpu_usage points; 251 are needed " +
                     "(time-step 10 and train-test-split 0.8 need 51, plus forecast-horizon 200)",
            await Refused("--data", Fixtures, "--run-config", "forecast-horizon=200"));
        Assert.Equal($"icosfl simulate: --workers 3: --data {Fixtures} holds 2 worker files; leave --workers out with --data",
            await Refused("--data", Fixtures, "--workers", "3"));
    }
}
