using IcosFl.Contracts;

namespace IcosFl.Learning;

/// <summary>A tensor the model holds: its PyTorch state_dict name and shape.</summary>
public sealed record TensorSpec(string Name, int[] Shape)
{
    public int ElementCount => Shape.Aggregate(1, (n, d) => n * d);
}

/// <summary>
/// The parameters of torch.nn.LSTM(input_size=1, hidden_size=H, num_layers=L, batch_first=True) followed by
/// torch.nn.Linear(H, 1), in PyTorch's state_dict order, so exported weights load into PyTorch as they are.
/// </summary>
public static class LstmLayout
{
    public const int InputSize = 1;

    public static IReadOnlyList<TensorSpec> Tensors(int hiddenSize, int numLayers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(numLayers, 1);
        int gates = 4 * hiddenSize; // input, forget, cell and output gates stacked, as PyTorch stores them
        var specs = new List<TensorSpec>();
        for (int layer = 0; layer < numLayers; layer++)
        {
            int layerInput = layer == 0 ? InputSize : hiddenSize;
            specs.Add(new TensorSpec($"lstm.weight_ih_l{layer}", [gates, layerInput]));
            specs.Add(new TensorSpec($"lstm.weight_hh_l{layer}", [gates, hiddenSize]));
            specs.Add(new TensorSpec($"lstm.bias_ih_l{layer}", [gates]));
            specs.Add(new TensorSpec($"lstm.bias_hh_l{layer}", [gates]));
        }

        specs.Add(new TensorSpec("linear.weight", [1, hiddenSize]));
        specs.Add(new TensorSpec("linear.bias", [1]));
        return specs;
    }

    public static IReadOnlyList<TensorSpec> Tensors(RunConfig config) => Tensors(config.HiddenLayerSize, config.NumLayers);

    public static string Describe(int hiddenSize, int numLayers) =>
        $"LSTM(input_size=1, hidden_size={hiddenSize}, num_layers={numLayers}) + Linear({hiddenSize}, 1)";

    /// <summary>Checks <paramref name="weights"/> against the layout; lists every problem at once.</summary>
    public static void EnsureCompatible(ModelWeights weights, int hiddenSize, int numLayers)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var expected = Tensors(hiddenSize, numLayers);
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
            throw new IncompatibleWeightsException(missing, unexpected, mismatched, Describe(hiddenSize, numLayers));
        }
    }

    internal static string Format(int[] shape) => "[" + string.Join(", ", shape) + "]";
}
