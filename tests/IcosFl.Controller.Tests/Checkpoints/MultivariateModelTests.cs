using IcosFl.Contracts;
using IcosFl.Controller.Checkpoints;
using IcosFl.Learning;

namespace IcosFl.Controller.Tests.Checkpoints;

/// <summary>Checkpoints and exports of a model that reads input metrics beside the forecast one.</summary>
public sealed class MultivariateModelTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "icosfl-mv-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder))
            Directory.Delete(_folder, recursive: true);
    }

    internal static Checkpoint Sample(Guid id)
    {
        var config = RunConfig.Default with { HiddenLayerSize = 4, TimeStep = 5, Seed = 3, InputMetrics = "memory_usage,power_consumption" };
        return CheckpointStoreTests.Sample(id, 2, 0.5) with
        {
            RunConfig = config,
            Weights = LocalTraining.InitialWeights(config),
            Scaler = new ScalerParameters(ScalerParameters.MinMax, 0.5f, 4.5f, "node c, training split", 80) { Metric = Metrics.CpuUsage },
            InputScalers =
            [
                new ScalerParameters(ScalerParameters.MinMax, 1024f, 4096f, "node c, training split", 80) { Metric = Metrics.MemoryUsage },
                new ScalerParameters(ScalerParameters.MinMax, 20f, 95.5f, "node c, training split", 80) { Metric = Metrics.PowerConsumption },
            ],
        };
    }

    [Fact]
    public async Task A_checkpoint_keeps_every_features_scaler_in_input_order()
    {
        var saved = Sample(Guid.NewGuid());
        var store = new FileCheckpointStore(_folder);

        await store.SaveRoundAsync(saved);
        var loaded = (await store.LoadAsync(saved.FederationId, CheckpointKind.Latest))!;

        Assert.Equal(saved.RunConfig, loaded.RunConfig);
        Assert.Equal(saved.Scaler, loaded.Scaler);
        Assert.Equal(saved.InputScalers, loaded.InputScalers);
        CheckpointStoreTests.AssertSameWeights(saved.Weights, loaded.Weights);
        Assert.Equal([new MinMaxScaler(0.5f, 4.5f), new MinMaxScaler(1024f, 4096f), new MinMaxScaler(20f, 95.5f)], loaded.SavedScalers(out _));
    }

    [Fact]
    public async Task An_export_carries_the_input_order_and_scalers_and_imports_back()
    {
        var saved = Sample(Guid.NewGuid());

        await ModelExport.WriteAsync(saved, _folder);
        var imported = ModelExport.Read(_folder);

        var sidecar = await File.ReadAllTextAsync(Path.Combine(_folder, "model.json"));
        Assert.Contains("\"inputSize\": 3,", sidecar);
        Assert.Contains("\"pytorch\": \"torch.nn.LSTM(input_size=3, hidden_size=4, num_layers=1, batch_first=True) + torch.nn.Linear(4, 100) on the last time step: the next 100 steps, each plus the last (scaled) value of the forecast metric in the window\"", sidecar);
        Assert.Contains("\"outputSize\": 100", sidecar);
        Assert.Contains("\"inputs\": [\n    \"cpu_usage\",\n    \"memory_usage\",\n    \"power_consumption\"\n  ]", sidecar.ReplaceLineEndings("\n"));
        Assert.Equal(saved.RunConfig, imported.RunConfig);
        Assert.Equal(saved.InputScalers, imported.InputScalers);
        Assert.Equal([16, 3], imported.Weights["lstm.weight_ih_l0"]!.Shape);
        CheckpointStoreTests.AssertSameWeights(saved.Weights, imported.Weights);
    }

    [Fact]
    public async Task An_export_whose_inputs_disagree_with_its_run_config_is_refused()
    {
        await ModelExport.WriteAsync(Sample(Guid.NewGuid()), _folder);
        var path = Path.Combine(_folder, "model.json");
        await File.WriteAllTextAsync(path, (await File.ReadAllTextAsync(path)).Replace("\"inputMetrics\": \"memory_usage,power_consumption\"", "\"inputMetrics\": \"memory_usage\""));

        var e = Assert.Throws<InvalidDataException>(() => ModelExport.Read(_folder));

        Assert.EndsWith("model.json: inputs [cpu_usage, memory_usage, power_consumption] differ from the runConfig's metric and input-metrics [cpu_usage, memory_usage]", e.Message);
    }

    [Fact]
    public void Saved_scalers_that_do_not_match_the_input_metrics_are_named()
    {
        var checkpoint = Sample(Guid.NewGuid());
        var partial = checkpoint with { InputScalers = [checkpoint.InputScalers![0]] };

        Assert.Null(partial.SavedScalers(out var why));
        Assert.Equal("the model reads input metrics [memory_usage, power_consumption] but saved scalers for [memory_usage]", why);
    }
}
