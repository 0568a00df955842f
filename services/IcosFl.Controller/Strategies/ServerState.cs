using IcosFl.Contracts;

namespace IcosFl.Controller.Strategies;

/// <summary>
/// A strategy's state between rounds as <see cref="ModelWeights"/>, so the controller persists it like a
/// model: one tensor per model tensor and kind, named "kind/model-tensor-name" ("m/lstm.weight_ih_l0",
/// "v/...", "momentum/..."), with the model tensor's shape.
/// </summary>
internal static class ServerState
{
    /// <summary>The state tensors of one kind, in the model's tensor order; null when there is no state yet.</summary>
    /// <exception cref="AggregationException">The state exists but lacks a tensor of this kind or its size differs from the model's.</exception>
    public static float[][]? Read(ModelWeights? state, string kind, ModelWeights global, string strategy)
    {
        if (state is null)
        {
            return null;
        }

        var byName = state.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var data = new float[global.Tensors.Count][];
        for (var t = 0; t < data.Length; t++)
        {
            var model = global.Tensors[t];
            var name = $"{kind}/{model.Name}";
            if (!byName.TryGetValue(name, out var tensor) || tensor.Data.Length != model.Data.Length)
            {
                var found = tensor is null ? "none" : $"{tensor.Data.Length} values";
                throw new AggregationException(
                    $"The {strategy} server state does not fit the model: it needs '{name}' with {model.Data.Length} values, found {found}. " +
                    $"State tensors: {string.Join(", ", state.Tensors.Select(s => s.Name))}.");
            }

            data[t] = tensor.Data;
        }

        return data;
    }

    /// <summary>State tensors of one kind, named and shaped after the model's tensors.</summary>
    public static IEnumerable<NamedTensor> Named(string kind, ModelWeights global, float[][] data) =>
        global.Tensors.Select((model, t) => new NamedTensor($"{kind}/{model.Name}", (int[])model.Shape.Clone(), data[t]));
}
