using System.Text.Json;
using System.Text.Json.Serialization;
using IcosFl.Contracts;
using IcosFl.Learning;
using IcosFl.Learning.Export;

namespace IcosFl.Controller.Checkpoints;

/// <summary>
/// A checkpoint as files anyone can load: <c>model.safetensors</c> (tensor names = PyTorch state_dict names of
/// torch.nn.LSTM(batch_first=True) + torch.nn.Linear) and <c>model.json</c> (architecture, the input metrics in model
/// order with a scaler each, metric, window, run config, round and metrics). <see cref="Read"/> turns the pair back into the same checkpoint.
/// </summary>
public static class ModelExport
{
    public const string WeightsFile = "model.safetensors";
    public const string SidecarFile = "model.json";
    /// <summary>
    /// /2: the linear layer gives the change from the window's last value at each of the next outputSize steps (the
    /// forward adds that value back); /1 models gave the next value itself, so a /1 export is refused rather than read as a /2 one.
    /// </summary>
    public const string Format = "icosfl-model/2";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        // A file for people as well as programs: "+" and non-ASCII names stay as they are.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes both files into <paramref name="directory"/> (created if needed), each atomically.</summary>
    public static async Task WriteAsync(Checkpoint checkpoint, string directory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var config = checkpoint.RunConfig;
        LstmLayout.EnsureCompatible(checkpoint.Weights, config);
        int inputSize = LstmLayout.InputSizeOf(config), outputSize = LstmLayout.OutputSizeOf(config);
        var sidecar = new Sidecar
        {
            Format = Format,
            Architecture = new Architecture(
                "lstm+linear", inputSize, config.HiddenLayerSize, config.NumLayers, BatchFirst: true, OutputSize: outputSize,
                Pytorch: $"torch.nn.LSTM(input_size={inputSize}, hidden_size={config.HiddenLayerSize}, num_layers={config.NumLayers}, batch_first=True) " +
                         $"+ torch.nn.Linear({config.HiddenLayerSize}, {outputSize}) on the last time step: the next {outputSize} steps, each " +
                         "plus the last (scaled) value of the forecast metric in the window",
                Tensors: checkpoint.Weights.Tensors.Select(t => t.Name).ToList()),
            Metric = config.Metric,
            Inputs = config.InputFeatures(),
            TimeStep = config.TimeStep,
            StepSeconds = Learning.Prediction.Forecaster.DefaultStepInterval.TotalSeconds,
            ForecastHorizon = config.ForecastHorizon,
            Scaler = checkpoint.Scaler,
            InputScalers = checkpoint.InputScalers,
            FederationId = checkpoint.FederationId,
            Round = checkpoint.Round,
            Attempt = checkpoint.Attempt,
            Metrics = checkpoint.Metrics,
            RunConfig = config,
        };
        var weights = SafeTensors.Write(checkpoint.Weights);
        var json = JsonSerializer.SerializeToUtf8Bytes(sidecar, Json);
        await FileCheckpointStore.WriteAtomicallyAsync(Path.Combine(directory, WeightsFile), weights, cancellationToken);
        await FileCheckpointStore.WriteAtomicallyAsync(Path.Combine(directory, SidecarFile), json, cancellationToken);
    }

    /// <summary>
    /// The checkpoint an export holds (server state is not exported: a resumed stateful strategy starts it afresh).
    /// Problems are <see cref="InvalidDataException"/>s naming the file and what is wrong.
    /// </summary>
    public static Checkpoint Read(string directory)
    {
        var weightsPath = Path.Combine(directory, WeightsFile);
        var sidecarPath = Path.Combine(directory, SidecarFile);
        foreach (var path in new[] { weightsPath, sidecarPath })
        {
            if (!File.Exists(path))
                throw new InvalidDataException($"{Path.GetFullPath(path)} is missing; an exported model is a folder with {WeightsFile} and {SidecarFile}");
        }

        Sidecar? sidecar;
        try
        {
            sidecar = JsonSerializer.Deserialize<Sidecar>(File.ReadAllBytes(sidecarPath), Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{sidecarPath} is not readable JSON: {e.Message}", e);
        }

        if (sidecar is null || sidecar.Format != Format)
            throw new InvalidDataException($"{sidecarPath}: format '{sidecar?.Format}' is not '{Format}'");
        if (sidecar.RunConfig is null || sidecar.Metrics is null)
            throw new InvalidDataException($"{sidecarPath}: runConfig and metrics are required");
        var config = sidecar.RunConfig;
        if (sidecar.Inputs is { } inputs && !inputs.SequenceEqual(config.InputFeatures()))
            throw new InvalidDataException(
                $"{sidecarPath}: inputs [{string.Join(", ", inputs)}] differ from the runConfig's metric and input-metrics [{string.Join(", ", config.InputFeatures())}]");

        ModelWeights read;
        try
        {
            read = SafeTensors.Read(File.ReadAllBytes(weightsPath)).Weights;
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{weightsPath}: {e.Message}", e);
        }

        try
        {
            LstmLayout.EnsureCompatible(read, config);
        }
        catch (IncompatibleWeightsException e)
        {
            throw new InvalidDataException($"{weightsPath} does not fit the architecture in {SidecarFile}: {e.Message}", e);
        }

        // Back in state_dict order whatever order the file's data was in.
        var ordered = LstmLayout.Tensors(config).Select(spec => read[spec.Name]!).ToList();
        return new Checkpoint
        {
            FederationId = sidecar.FederationId,
            Round = sidecar.Round,
            Attempt = sidecar.Attempt,
            RunConfig = config,
            Weights = new ModelWeights(ordered),
            Scaler = sidecar.Scaler,
            InputScalers = sidecar.InputScalers,
            Metrics = sidecar.Metrics,
        };
    }

    private sealed record Architecture(
        string Kind, int InputSize, int HiddenSize, int NumLayers, bool BatchFirst, int OutputSize, string Pytorch, IReadOnlyList<string> Tensors);

    private sealed class Sidecar
    {
        public string? Format { get; init; }
        public Architecture? Architecture { get; init; }
        public string? Metric { get; init; }
        /// <summary>The metrics read at each time step, in input order: the forecast metric, then the input-metrics.</summary>
        public IReadOnlyList<string>? Inputs { get; init; }
        public int TimeStep { get; init; }
        public double StepSeconds { get; init; }
        public int ForecastHorizon { get; init; }
        public ScalerParameters? Scaler { get; init; }
        /// <summary>The input-metrics' scalers, in input order (absent for a univariate model).</summary>
        public IReadOnlyList<ScalerParameters>? InputScalers { get; init; }
        public Guid FederationId { get; init; }
        public int Round { get; init; }
        public int Attempt { get; init; } = 1;
        public CheckpointMetrics? Metrics { get; init; }
        public RunConfig? RunConfig { get; init; }
    }
}
