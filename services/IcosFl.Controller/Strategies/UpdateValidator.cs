using System.Numerics.Tensors;
using IcosFl.Contracts;

namespace IcosFl.Controller.Strategies;

/// <summary>
/// Checks a worker's update before it may take part in an aggregate: same tensors as the global model
/// (names, order, shapes), finite values, a positive example count, and an update norm within
/// max-update-norm when that is set.
/// </summary>
public static class UpdateValidator
{
    /// <summary>Why <paramref name="update"/> cannot be aggregated against <paramref name="global"/>, or null when it can.</summary>
    public static string? FindProblem(ModelWeights global, ClientUpdate update, RunConfig config) =>
        FindProblem(global, update, config, checkValues: true);

    /// <param name="checkValues">false skips the scan for NaN/Inf (for callers that detect them another way).</param>
    internal static string? FindProblem(ModelWeights global, ClientUpdate update, RunConfig config, bool checkValues)
    {
        if (update.NumExamples <= 0)
        {
            return $"reports {update.NumExamples} training examples; an update must be trained on at least one (FedAvg weighs updates by example count)";
        }

        if (update.Metrics is null || !double.IsFinite(update.Metrics.Loss))
        {
            return $"reports a non-finite training loss ({update.Metrics?.Loss.ToString() ?? "none"})";
        }

        var tensors = update.Weights?.Tensors;
        if (tensors is null)
        {
            return "carries no weights";
        }

        var expected = global.Tensors;
        if (tensors.Count != expected.Count)
        {
            return $"has {tensors.Count} tensors, the global model has {expected.Count} ({string.Join(", ", expected.Select(t => t.Name))})";
        }

        for (var t = 0; t < expected.Count; t++)
        {
            var tensor = tensors[t];
            if (tensor.Name != expected[t].Name)
            {
                return $"tensor {t} is '{tensor.Name}', the global model has '{expected[t].Name}' there";
            }

            if (!tensor.Shape.AsSpan().SequenceEqual(expected[t].Shape))
            {
                return $"tensor '{tensor.Name}' has shape [{string.Join(", ", tensor.Shape)}], the global model's is [{string.Join(", ", expected[t].Shape)}]";
            }

            if (tensor.Data.Length != expected[t].Data.Length)
            {
                return $"tensor '{tensor.Name}' holds {tensor.Data.Length} values, its shape [{string.Join(", ", tensor.Shape)}] needs {expected[t].Data.Length}";
            }

            // Vectorised check first; the element-by-element search only runs when something is wrong.
            if (checkValues && !TensorPrimitives.IsFiniteAll<float>(tensor.Data))
            {
                var index = Array.FindIndex(tensor.Data, v => !float.IsFinite(v));
                var value = tensor.Data[index];
                var what = float.IsNaN(value) ? "NaN" : value > 0 ? "+Infinity" : "-Infinity";
                return $"tensor '{tensor.Name}' holds {what} at element {index}";
            }
        }

        if (config.MaxUpdateNorm > 0)
        {
            var norm = Aggregation.DeltaNorm(update.Weights!, global);
            if (norm > config.MaxUpdateNorm)
            {
                return $"update norm {norm:G6} (L2 of update - global) exceeds max-update-norm {config.MaxUpdateNorm:G6}";
            }
        }

        return null;
    }
}
