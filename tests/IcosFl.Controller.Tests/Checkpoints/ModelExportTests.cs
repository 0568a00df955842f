using IcosFl.Controller.Checkpoints;

namespace IcosFl.Controller.Tests.Checkpoints;

public sealed class ModelExportTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "icosfl-export-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder))
            Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task Export_then_import_gives_back_the_same_checkpoint_without_server_state()
    {
        var checkpoint = CheckpointStoreTests.Sample(Guid.NewGuid(), 7, mse: 0.25);

        await ModelExport.WriteAsync(checkpoint, _folder);
        var imported = ModelExport.Read(_folder);

        Assert.Equal(["model.json", "model.safetensors"], Directory.GetFiles(_folder).Select(Path.GetFileName).Order());
        CheckpointStoreTests.AssertSameWeights(checkpoint.Weights, imported.Weights);
        Assert.Equal(checkpoint.RunConfig, imported.RunConfig);
        Assert.Equal(checkpoint.Scaler, imported.Scaler);
        Assert.Equal(checkpoint.Metrics.Centralized, imported.Metrics.Centralized);
        Assert.Equal((checkpoint.FederationId, 7, 2), (imported.FederationId, imported.Round, imported.Attempt));
        var sidecar = await File.ReadAllTextAsync(Path.Combine(_folder, "model.json"));
        Assert.Contains("\"pytorch\": \"torch.nn.LSTM(input_size=1, hidden_size=5, num_layers=2, batch_first=True) + torch.nn.Linear(5, 100) on the last time step: the next 100 steps, each plus the last (scaled) value of the forecast metric in the window\"", sidecar);
        Assert.Contains("\"outputSize\": 100", sidecar);
        Assert.Contains("\"metric\": \"memory_usage\"", sidecar);
    }

    [Fact]
    public async Task Import_refuses_weights_that_do_not_fit_the_sidecar_architecture()
    {
        var checkpoint = CheckpointStoreTests.Sample(Guid.NewGuid(), 1, mse: 0.25);
        await ModelExport.WriteAsync(checkpoint, _folder);
        var sidecar = Path.Combine(_folder, "model.json");
        await File.WriteAllTextAsync(sidecar, (await File.ReadAllTextAsync(sidecar)).Replace("\"hiddenLayerSize\": 5", "\"hiddenLayerSize\": 6"));

        var e = Assert.Throws<InvalidDataException>(() => ModelExport.Read(_folder));

        Assert.Contains("does not fit the architecture", e.Message);
        Assert.Contains("lstm.weight_hh_l0", e.Message);
    }

    [Fact]
    public void Import_of_a_folder_without_the_files_names_what_is_missing()
    {
        Directory.CreateDirectory(_folder);

        var e = Assert.Throws<InvalidDataException>(() => ModelExport.Read(_folder));

        Assert.Contains("model.safetensors is missing", e.Message);
    }
}
