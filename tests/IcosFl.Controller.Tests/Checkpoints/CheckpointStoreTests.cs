using IcosFl.Contracts;
using IcosFl.Controller.Checkpoints;
using IcosFl.Learning;

namespace IcosFl.Controller.Tests.Checkpoints;

public sealed class CheckpointStoreTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "icosfl-ckpt-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder))
            Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task A_checkpoint_round_trips_exactly_through_its_file()
    {
        var store = new FileCheckpointStore(_folder);
        var saved = Sample(Guid.NewGuid(), round: 3, mse: 0.0123456789) with
        {
            ServerState = LocalTraining.InitialWeights(RunConfig.Default with { Seed = 9 }),
        };

        await store.SaveRoundAsync(saved);
        var loaded = await store.LoadAsync(saved.FederationId, CheckpointKind.Latest);

        Assert.NotNull(loaded);
        Assert.Equal(saved.RunConfig, loaded.RunConfig);
        Assert.Equal(saved.Scaler, loaded.Scaler);
        Assert.Equal(saved.Metrics.Centralized, loaded.Metrics.Centralized);
        Assert.Equal(saved.Metrics.Participants, loaded.Metrics.Participants);
        Assert.Equal((saved.FederationId, 3, 2), (loaded.FederationId, loaded.Round, loaded.Attempt));
        AssertSameWeights(saved.Weights, loaded.Weights);
        AssertSameWeights(saved.ServerState!, loaded.ServerState!);
        Assert.True(File.Exists(Path.Combine(_folder, saved.FederationId.ToString("D"), "latest.json")));
    }

    [Fact]
    public async Task Best_follows_the_lowest_centralized_MSE_and_latest_the_last_round()
    {
        var store = new FileCheckpointStore(_folder);
        var id = Guid.NewGuid();

        Assert.Equal(new CheckpointSaved(true, true), await store.SaveRoundAsync(Sample(id, 1, mse: 0.5)));
        Assert.Equal(new CheckpointSaved(true, true), await store.SaveRoundAsync(Sample(id, 2, mse: 0.2)));
        Assert.Equal(new CheckpointSaved(true, false), await store.SaveRoundAsync(Sample(id, 3, mse: 0.3)));
        Assert.Equal(new CheckpointSaved(true, false), await store.SaveRoundAsync(Sample(id, 4, mse: null)));

        Assert.Equal(4, (await store.LoadAsync(id, CheckpointKind.Latest))!.Round);
        Assert.Equal(2, (await store.LoadAsync(id, CheckpointKind.Best))!.Round);
        Assert.Null(await store.LoadAsync(Guid.NewGuid(), CheckpointKind.Latest));
    }

    [Fact]
    public async Task The_same_round_saved_again_gives_the_same_bytes()
    {
        var store = new FileCheckpointStore(_folder);
        var checkpoint = Sample(Guid.NewGuid(), 1, mse: 0.5);
        await store.SaveRoundAsync(checkpoint);
        var first = await File.ReadAllBytesAsync(store.PathOf(checkpoint.FederationId, CheckpointKind.Latest));

        await store.SaveRoundAsync(checkpoint);

        Assert.Equal(first, await File.ReadAllBytesAsync(store.PathOf(checkpoint.FederationId, CheckpointKind.Latest)));
        Assert.Equal(first, await File.ReadAllBytesAsync(store.PathOf(checkpoint.FederationId, CheckpointKind.Best)));
    }

    [Fact]
    public async Task A_write_that_fails_half_way_leaves_the_old_file_and_no_temporary_file()
    {
        var path = Path.Combine(_folder, "latest.json");
        await FileCheckpointStore.WriteAtomicallyAsync(path, "old"u8.ToArray());

        await Assert.ThrowsAsync<IOException>(() => FileCheckpointStore.WriteAtomicallyAsync(path, async (stream, ct) =>
        {
            await stream.WriteAsync("half of the new"u8.ToArray(), ct);
            throw new IOException("disk full");
        }));

        Assert.Equal("old", await File.ReadAllTextAsync(path));
        Assert.Equal(["latest.json"], Directory.GetFiles(_folder).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_reader_never_sees_part_of_a_checkpoint_while_it_is_rewritten()
    {
        var store = new FileCheckpointStore(_folder);
        var id = Guid.NewGuid();
        // A large model (hidden 128: ~67k parameters, ~360 kB of JSON) so that a non-atomic write would be caught mid-way.
        var big = Sample(id, 1, 0.5) with { RunConfig = RunConfig.Default with { HiddenLayerSize = 128 } };
        big = big with { Weights = LocalTraining.InitialWeights(big.RunConfig) };
        await store.SaveRoundAsync(big);

        using var done = new CancellationTokenSource();
        var reads = 0;
        var reader = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                var loaded = await store.LoadAsync(id, CheckpointKind.Latest); // throws on a partial file
                Assert.Equal(big.Weights.ParameterCount, loaded!.Weights.ParameterCount);
                reads++;
            }
        });
        for (int round = 2; round <= 30; round++)
            await store.SaveRoundAsync(big with { Round = round });
        done.Cancel();
        await reader;

        Assert.True(reads > 0);
        Assert.Equal(30, (await store.LoadAsync(id, CheckpointKind.Latest))!.Round);
    }

    [Fact]
    public async Task A_model_beyond_the_json_writers_125_MB_base64_limit_checkpoints_and_reads_back()
    {
        // 33 M float32 = 132 MB of weights: System.Text.Json writes at most 125 MB of base64 in one call.
        var data = new float[33_000_000];
        for (var i = 0; i < data.Length; i += 997)
            data[i] = i * 1e-7f;
        var store = new FileCheckpointStore(_folder);
        var saved = Sample(Guid.NewGuid(), round: 1, mse: null) with { Weights = new ModelWeights([new NamedTensor("w", [data.Length], data)]) };

        await store.SaveRoundAsync(saved);
        var loaded = await store.LoadAsync(saved.FederationId, CheckpointKind.Latest);

        Assert.True(data.AsSpan().SequenceEqual(loaded!.Weights.Tensors[0].Data));
    }

    [Fact]
    public async Task A_damaged_checkpoint_is_refused_naming_the_file()
    {
        var store = new FileCheckpointStore(_folder);
        var checkpoint = Sample(Guid.NewGuid(), 1, 0.5);
        await store.SaveRoundAsync(checkpoint);
        var path = store.PathOf(checkpoint.FederationId, CheckpointKind.Latest);
        var text = await File.ReadAllTextAsync(path);
        var checksum = text.Split("\"checksum\": \"")[1][..16];
        await File.WriteAllTextAsync(path, text.Replace(checksum, "0000000000000000"));

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => store.LoadAsync(checkpoint.FederationId, CheckpointKind.Latest));

        Assert.Contains(path, e.Message);
        Assert.Contains("weights checksum", e.Message);
    }

    internal static Checkpoint Sample(Guid id, int round, double? mse)
    {
        var config = RunConfig.Default with { HiddenLayerSize = 5, NumLayers = 2, Seed = round, Metric = Metrics.MemoryUsage };
        return new Checkpoint
        {
            FederationId = id,
            Round = round,
            Attempt = 2,
            RunConfig = config,
            Weights = LocalTraining.InitialWeights(config),
            Scaler = new ScalerParameters(ScalerParameters.MinMax, 0.125f, 3.75f, "node controller, training split", 480),
            Metrics = new CheckpointMetrics(0.04, mse is { } m ? new EvaluationMetrics(100, m, Math.Sqrt(m), m / 2, 0.7, 0.8, 0.9) : null,
                mse is null ? "the controller node has no memory_usage data" : null, ["worker-1", "worker-2"]),
        };
    }

    internal static void AssertSameWeights(ModelWeights expected, ModelWeights actual)
    {
        Assert.Equal(expected.Tensors.Select(t => (t.Name, string.Join(",", t.Shape))), actual.Tensors.Select(t => (t.Name, string.Join(",", t.Shape))));
        for (int t = 0; t < expected.Tensors.Count; t++)
            Assert.Equal(expected.Tensors[t].Data, actual.Tensors[t].Data);
    }
}
