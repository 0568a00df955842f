using IcosFl.Contracts;

namespace IcosFl.Learning;

/// <summary>A tensor the model holds: its PyTorch state_dict name and shape.</summary>
public sealed record TensorSpec(string Name, int[] Shape)
{
    public int ElementCount => Shape.Aggregate(1, (n, d) => n * d);
}

/// <summary>
/// The parameters of torch.nn.LSTM(input_size=F, hidden_size=H, num_layers=L, batch_first=True) followed by
/// torch.nn.Linear(H, O), in PyTorch's state_dict order, so exported weights load into PyTorch as they are.
/// F is 1 (the forecast metric) plus the run's input-metrics; only lstm.weight_ih_l0 ([4H, F]) depends on it.
/// O is the run's forecast-horizon (the direct head forecasts every step ahead at once); only linear.weight ([O, H])
/// and linear.bias ([O]) depend on it. With O = 1 the layout is ICOS-FL's.
/// </summary>
public static class LstmLayout
{
    /// <summary>The state_dict prefix of the linear head's tensors (<c>linear.weight</c>, <c>linear.bias</c>).</summary>
    public const string HeadPrefix = "linear.";

    /// <summary>The input size of a univariate model (ICOS-FL's): the forecast metric alone.</summary>
    public const int InputSize = 1;

    /// <summary>Values per time step of the model of <paramref name="config"/>: the forecast metric and each input metric.</summary>
    public static int InputSizeOf(RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.InputFeatures().Count;
    }

    /// <summary>Steps ahead the model of <paramref name="config"/> forecasts at once: its forecast-horizon.</summary>
    public static int OutputSizeOf(RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.ForecastHorizon;
    }

    public static IReadOnlyList<TensorSpec> Tensors(int hiddenSize, int numLayers) => Tensors(hiddenSize, numLayers, InputSize);

    public static IReadOnlyList<TensorSpec> Tensors(int hiddenSize, int numLayers, int inputSize, int outputSize = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(numLayers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputSize, 1);
        int gates = 4 * hiddenSize; // input, forget, cell and output gates stacked, as PyTorch stores them
        var specs = new List<TensorSpec>();
        for (int layer = 0; layer < numLayers; layer++)
        {
            int layerInput = layer == 0 ? inputSize : hiddenSize;
            specs.Add(new TensorSpec($"lstm.weight_ih_l{layer}", [gates, layerInput]));
            specs.Add(new TensorSpec($"lstm.weight_hh_l{layer}", [gates, hiddenSize]));
            specs.Add(new TensorSpec($"lstm.bias_ih_l{layer}", [gates]));
            specs.Add(new TensorSpec($"lstm.bias_hh_l{layer}", [gates]));
        }

        specs.Add(new TensorSpec("linear.weight", [outputSize, hiddenSize]));
        specs.Add(new TensorSpec("linear.bias", [outputSize]));
        return specs;
    }

    public static IReadOnlyList<TensorSpec> Tensors(RunConfig config) =>
        Tensors(config.HiddenLayerSize, config.NumLayers, InputSizeOf(config), OutputSizeOf(config));

    public static string Describe(int hiddenSize, int numLayers) => Describe(hiddenSize, numLayers, InputSize);

    public static string Describe(int hiddenSize, int numLayers, int inputSize, int outputSize = 1) =>
        $"LSTM(input_size={inputSize}, hidden_size={hiddenSize}, num_layers={numLayers}) + Linear({hiddenSize}, {outputSize})";

    /// <summary>Checks <paramref name="weights"/> against the univariate layout; lists every problem at once.</summary>
    public static void EnsureCompatible(ModelWeights weights, int hiddenSize, int numLayers) => EnsureCompatible(weights, hiddenSize, numLayers, InputSize);

    /// <summary>Checks <paramref name="weights"/> against the layout of <paramref name="config"/>'s model (its inputs included).</summary>
    public static void EnsureCompatible(ModelWeights weights, RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        EnsureCompatible(weights, config.HiddenLayerSize, config.NumLayers, InputSizeOf(config), OutputSizeOf(config));
    }

    /// <summary>Checks <paramref name="weights"/> against the layout; lists every problem at once.</summary>
    public static void EnsureCompatible(ModelWeights weights, int hiddenSize, int numLayers, int inputSize, int outputSize = 1)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var expected = Tensors(hiddenSize, numLayers, inputSize, outputSize);
        var expectedByName = expected.ToDictionary(s => s.Name);
        var seen = new HashSet<string>();
        var unexpected = new List<string>();
        var mismatched = new List<string>();
        foreach (var tensor in weights.Tensors)
        {
            if (!expectedByName.TryGetValue(tensor.Name, out var spec))
            {
                unexpected.Add(tensor.Name);
                continue;
            }

            if (!seen.Add(tensor.Name))
            {
                unexpected.Add(tensor.Name + " (twice)");
                continue;
            }

            if (!tensor.Shape.SequenceEqual(spec.Shape))
            {
                mismatched.Add($"{tensor.Name} has shape {Format(tensor.Shape)}, expected {Format(spec.Shape)}");
            }
            else if (tensor.Data.Length != spec.ElementCount)
            {
                mismatched.Add($"{tensor.Name} holds {tensor.Data.Length} values, its shape {Format(spec.Shape)} needs {spec.ElementCount}");
            }
        }

        var missing = expected.Where(s => !seen.Contains(s.Name)).Select(s => s.Name).ToList();
        if (missing.Count > 0 || unexpected.Count > 0 || mismatched.Count > 0)
        {
            throw new IncompatibleWeightsException(missing, unexpected, mismatched, Describe(hiddenSize, numLayers, inputSize, outputSize));
        }
    }

    internal static string Format(int[] shape) => "[" + string.Join(", ", shape) + "]";
}
