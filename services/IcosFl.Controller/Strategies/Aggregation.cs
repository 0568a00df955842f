using System.Numerics.Tensors;
using IcosFl.Contracts;

namespace IcosFl.Controller.Strategies;

/// <summary>
/// The aggregation maths, after Flower's aggregate.py: pure functions over float32 tensors, per tensor on
/// spans and per model on <see cref="ModelWeights"/>. Nothing here validates updates (see
/// <see cref="UpdateValidator"/>); callers pass models whose tensors match in count, order and length.
/// </summary>
/// <remarks>
/// Precision, decided once for the whole file:
/// <list type="bullet">
/// <item>Element-wise model arithmetic (weighted average, clipping) stays in float32 with each scalar
/// rounded to float32 first, as numpy does on Flower's float32 arrays (<c>x * 0.25</c> keeps float32), so
/// results match Flower's to the last bit where the operation order is the same. The weighted average is
/// <c>out = x0*w0; out = out + xi*wi</c> (two roundings per step, not fused), exactly Flower's in-place
/// aggregation.</item>
/// <item>Reductions over millions of elements (norms, squared distances) sum float32 blocks of
/// <see cref="ReductionBlock"/> elements with TensorPrimitives and add the block results in double:
/// as fast as a float sum and as accurate as numpy's pairwise float32 sum or better.</item>
/// <item>Per-coordinate statistics across the (few) clients, median and trimmed mean, are computed in
/// double and rounded once to float32.</item>
/// </list>
/// Exact-number tests therefore use values that float32 represents exactly, or a 1e-6 tolerance.
/// </remarks>
public static class Aggregation
{
    /// <summary>Elements per float32 partial sum in reductions (small enough to keep float error negligible).</summary>
    public const int ReductionBlock = 4096;

    /// <summary>Elements of the output accumulated at a time in the weighted average (64 KiB: fits in L2).</summary>
    public const int AccumulationBlock = 16384;

    // ---- weighted average (FedAvg) ----

    /// <summary>
    /// Example-weighted average of models: Σ (nᵢ / Σn) · modelᵢ, tensor by tensor. One output model is the
    /// only allocation; every update is read once and accumulated in place (no per-update copies).
    /// </summary>
    public static ModelWeights WeightedAverage(IReadOnlyList<ModelWeights> models, IReadOnlyList<double> weights)
    {
        var factors = NormalisedFactors(weights, models.Count);
        var template = models[0];
        var tensors = new NamedTensor[template.Tensors.Count];
        var inputs = new float[models.Count][];
        for (var t = 0; t < tensors.Length; t++)
        {
            for (var m = 0; m < models.Count; m++)
            {
                inputs[m] = models[m].Tensors[t].Data;
            }

            var output = new float[template.Tensors[t].Data.Length];
            WeightedAverage(inputs, factors, output);
            tensors[t] = template.Tensors[t] with { Data = output };
        }

        return new ModelWeights(tensors);
    }

    /// <summary>
    /// destination = Σ factorsᵢ · inputsᵢ, accumulated in place in <paramref name="destination"/>.
    /// The factors are used as given (pass weights already divided by their sum for an average).
    /// </summary>
    public static void WeightedAverage(IReadOnlyList<float[]> inputs, ReadOnlySpan<float> factors, Span<float> destination)
    {
        if (inputs.Count == 0)
        {
            throw new ArgumentException("At least one input is needed for a weighted average.", nameof(inputs));
        }

        if (factors.Length != inputs.Count)
        {
            throw new ArgumentException($"{factors.Length} factors given for {inputs.Count} inputs.", nameof(factors));
        }

        for (var i = 0; i < inputs.Count; i++)
        {
            if (inputs[i].Length != destination.Length)
            {
                throw new ArgumentException(
                    $"Input {i} holds {inputs[i].Length} values, the destination {destination.Length}.", nameof(inputs));
            }
        }

        // Block by block, so the block of the destination stays in cache while every input streams through
        // it once; per element the operations and their order are those of whole-span passes.
        for (var start = 0; start < destination.Length; start += AccumulationBlock)
        {
            var length = Math.Min(AccumulationBlock, destination.Length - start);
            var block = destination.Slice(start, length);
            TensorPrimitives.Multiply(inputs[0].AsSpan(start, length), factors[0], block);
            for (var i = 1; i < inputs.Count; i++)
            {
                // MultiplyAdd rounds the product and then the sum, like numpy's out += x * w.
                TensorPrimitives.MultiplyAdd(inputs[i].AsSpan(start, length), factors[i], block, block);
            }
        }
    }

    /// <summary>weightᵢ / Σ weight as float32 factors (Flower: num_examples / num_examples_total).</summary>
    public static float[] NormalisedFactors(IReadOnlyList<double> weights, int expectedCount)
    {
        if (weights.Count != expectedCount)
        {
            throw new ArgumentException($"{weights.Count} weights given for {expectedCount} models.", nameof(weights));
        }

        if (expectedCount == 0)
        {
            throw new ArgumentException("At least one model is needed for a weighted average.", nameof(weights));
        }

        var total = 0.0;
        foreach (var w in weights)
        {
            if (!double.IsFinite(w) || w < 0)
            {
                throw new ArgumentException($"Weights must be finite and non-negative; got {w}.", nameof(weights));
            }

            total += w;
        }

        if (total <= 0)
        {
            throw new ArgumentException("The weights sum to zero, so a weighted average is undefined.", nameof(weights));
        }

        var factors = new float[weights.Count];
        for (var i = 0; i < factors.Length; i++)
        {
            factors[i] = (float)(weights[i] / total);
        }

        return factors;
    }

    /// <summary>Example-weighted mean of scalars in double (Flower's weighted_loss_avg).</summary>
    public static double WeightedMean(IReadOnlyList<double> values, IReadOnlyList<double> weights)
    {
        if (values.Count != weights.Count || values.Count == 0)
        {
            throw new ArgumentException($"{values.Count} values and {weights.Count} weights: need the same, non-zero count.");
        }

        double sum = 0, total = 0;
        for (var i = 0; i < values.Count; i++)
        {
            sum += values[i] * weights[i];
            total += weights[i];
        }

        if (total <= 0)
        {
            throw new ArgumentException("The weights sum to zero, so a weighted mean is undefined.", nameof(weights));
        }

        return sum / total;
    }

    // ---- robust statistics (FedMedian, FedTrimmedAvg) ----

    /// <summary>Coordinate-wise median of models (numpy's median: the mean of the two middle values for an even count).</summary>
    public static ModelWeights Median(IReadOnlyList<ModelWeights> models) =>
        PerTensor(models, (inputs, destination) => Median(inputs, destination));

    /// <summary>Coordinate-wise median of the inputs into <paramref name="destination"/>.</summary>
    public static void Median(IReadOnlyList<float[]> inputs, Span<float> destination) =>
        PerCoordinate(inputs, destination, static sorted =>
        {
            var n = sorted.Length;
            return n % 2 == 1 ? sorted[n / 2] : ((double)sorted[(n / 2) - 1] + sorted[n / 2]) / 2.0;
        });

    /// <summary>Coordinate-wise trimmed mean of models, cutting <paramref name="proportionToCut"/> of the values at each end.</summary>
    public static ModelWeights TrimmedMean(IReadOnlyList<ModelWeights> models, double proportionToCut) =>
        PerTensor(models, (inputs, destination) => TrimmedMean(inputs, proportionToCut, destination));

    /// <summary>
    /// Coordinate-wise trimmed mean, after scipy's trim_mean as Flower uses it: with n inputs,
    /// int(proportion · n) values are cut from each end of every coordinate and the rest averaged.
    /// </summary>
    public static void TrimmedMean(IReadOnlyList<float[]> inputs, double proportionToCut, Span<float> destination)
    {
        if (!(proportionToCut >= 0 && proportionToCut < 0.5))
        {
            throw new ArgumentOutOfRangeException(nameof(proportionToCut), proportionToCut,
                "The proportion to cut from each end must be in [0, 0.5).");
        }

        var cut = (int)(proportionToCut * inputs.Count);
        var keep = inputs.Count - (2 * cut);
        if (keep <= 0)
        {
            // Flower raises "Proportion too big." in the same case.
            throw new ArgumentException(
                $"Cutting {cut} of {inputs.Count} values at each end leaves nothing to average.", nameof(proportionToCut));
        }

        PerCoordinate(inputs, destination, sorted =>
        {
            var sum = 0.0;
            for (var i = cut; i < cut + keep; i++)
            {
                sum += sorted[i];
            }

            return sum / keep;
        });
    }

    // ---- distances and Krum ----

    /// <summary>Squared L2 distance between two models over all their tensors.</summary>
    public static double SquaredDistance(ModelWeights a, ModelWeights b)
    {
        var sum = 0.0;
        for (var t = 0; t < a.Tensors.Count; t++)
        {
            sum += SquaredDistance(a.Tensors[t].Data, b.Tensors[t].Data);
        }

        return sum;
    }

    /// <summary>Squared L2 distance Σ (aᵢ - bᵢ)² of two equally long spans.</summary>
    public static double SquaredDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"Spans of {a.Length} and {b.Length} values have no distance.");
        }

        var sum = 0.0;
        for (var start = 0; start < a.Length; start += ReductionBlock)
        {
            var length = Math.Min(ReductionBlock, a.Length - start);
            double d = TensorPrimitives.Distance(a.Slice(start, length), b.Slice(start, length));
            sum += d * d;
        }

        return sum;
    }

    /// <summary>Matrix of pairwise squared L2 distances between models (symmetric, zero diagonal).</summary>
    public static double[,] SquaredDistances(IReadOnlyList<ModelWeights> models)
    {
        var n = models.Count;
        var distances = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++)
            {
                // Direct differences, not |a|²+|b|²-2a·b, which cancels badly when models are close.
                distances[i, j] = distances[j, i] = SquaredDistance(models[i], models[j]);
            }
        }

        return distances;
    }

    /// <summary>
    /// Krum scores (Blanchard et al. 2017, Flower's definition): for each model, the sum of its squared
    /// distances to its n - f - 2 closest other models (at least 1, at most n - 1), f = <paramref name="numMalicious"/>.
    /// The lower the score, the more the model agrees with the others.
    /// </summary>
    public static double[] KrumScores(IReadOnlyList<ModelWeights> models, int numMalicious)
    {
        if (numMalicious < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(numMalicious), numMalicious, "The number of malicious clients cannot be negative.");
        }

        var n = models.Count;
        var distances = SquaredDistances(models);
        var numClosest = Math.Min(Math.Max(1, n - numMalicious - 2), n - 1);
        var scores = new double[n];
        var others = new double[Math.Max(0, n - 1)];
        for (var i = 0; i < n; i++)
        {
            var k = 0;
            for (var j = 0; j < n; j++)
            {
                if (j != i)
                {
                    others[k++] = distances[i, j];
                }
            }

            Array.Sort(others);
            var score = 0.0;
            for (var c = 0; c < numClosest; c++)
            {
                score += others[c];
            }

            scores[i] = score;
        }

        return scores;
    }

    /// <summary>Indices of the <paramref name="count"/> lowest scores, lowest first (ties: lower index first).</summary>
    public static int[] LowestScores(IReadOnlyList<double> scores, int count)
    {
        if (count < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "At least one index must be selected.");
        }

        return Enumerable.Range(0, scores.Count)
            .OrderBy(i => scores[i])
            .ThenBy(i => i)
            .Take(count)
            .ToArray();
    }

    // ---- norms and clipping ----

    /// <summary>L2 norm of a span (block sums of squares in double).</summary>
    public static double L2Norm(ReadOnlySpan<float> values) => Math.Sqrt(SumOfSquares(values));

    /// <summary>L2 norm of a whole model, all tensors flattened together (Flower's get_norm).</summary>
    public static double L2Norm(ModelWeights model)
    {
        var sum = 0.0;
        foreach (var tensor in model.Tensors)
        {
            sum += SumOfSquares(tensor.Data);
        }

        return Math.Sqrt(sum);
    }

    /// <summary>L2 norm of (update - global) over all tensors, without materialising the difference.</summary>
    public static double DeltaNorm(ModelWeights update, ModelWeights global) => Math.Sqrt(SquaredDistance(update, global));

    /// <summary>Σ xᵢ² in float32 blocks added in double.</summary>
    public static double SumOfSquares(ReadOnlySpan<float> values)
    {
        var sum = 0.0;
        for (var start = 0; start < values.Length; start += ReductionBlock)
        {
            sum += TensorPrimitives.SumOfSquares(values.Slice(start, Math.Min(ReductionBlock, values.Length - start)));
        }

        return sum;
    }

    /// <summary>
    /// The factor that brings a vector of norm <paramref name="norm"/> within <paramref name="clipNorm"/>:
    /// min(1, clipNorm / norm), and 1 for a zero vector (Flower's clip_inputs_inplace).
    /// </summary>
    public static double ClipFactor(double norm, double clipNorm)
    {
        if (!(clipNorm > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(clipNorm), clipNorm, "The clipping norm must be positive.");
        }

        return norm > clipNorm ? clipNorm / norm : 1.0;
    }

    /// <summary>Scales <paramref name="values"/> in place so that its L2 norm is at most <paramref name="clipNorm"/>; returns the norm before clipping.</summary>
    public static double ClipInPlace(Span<float> values, double clipNorm)
    {
        var norm = L2Norm(values);
        var factor = ClipFactor(norm, clipNorm);
        if (factor < 1.0)
        {
            TensorPrimitives.Multiply(values, (float)factor, values);
        }

        return norm;
    }

    /// <summary>
    /// Flower's compute_clip_model_update: the update's delta from the global model is clipped to
    /// <paramref name="clipNorm"/> (L2 over all tensors) and added back to the global model. Returns a new
    /// model; the inputs are not changed.
    /// </summary>
    public static ModelWeights ClipDelta(ModelWeights update, ModelWeights global, double clipNorm, out double deltaNorm)
    {
        var deltas = new float[update.Tensors.Count][];
        var squares = 0.0;
        for (var t = 0; t < deltas.Length; t++)
        {
            var delta = new float[update.Tensors[t].Data.Length];
            TensorPrimitives.Subtract(update.Tensors[t].Data, global.Tensors[t].Data, delta);
            squares += SumOfSquares(delta);
            deltas[t] = delta;
        }

        deltaNorm = Math.Sqrt(squares);
        var factor = (float)ClipFactor(deltaNorm, clipNorm);
        var tensors = new NamedTensor[deltas.Length];
        for (var t = 0; t < deltas.Length; t++)
        {
            var delta = deltas[t];
            if (factor < 1f)
            {
                TensorPrimitives.Multiply(delta, factor, delta);
            }

            // global + clipped delta, written over the delta buffer.
            TensorPrimitives.Add(global.Tensors[t].Data, delta, delta);
            tensors[t] = update.Tensors[t] with { Data = delta };
        }

        return new ModelWeights(tensors);
    }

    // ---- shared plumbing ----

    private static ModelWeights PerTensor(IReadOnlyList<ModelWeights> models, Action<IReadOnlyList<float[]>, float[]> combine)
    {
        if (models.Count == 0)
        {
            throw new ArgumentException("At least one model is needed.", nameof(models));
        }

        var template = models[0];
        var tensors = new NamedTensor[template.Tensors.Count];
        for (var t = 0; t < tensors.Length; t++)
        {
            var inputs = new float[models.Count][];
            for (var m = 0; m < models.Count; m++)
            {
                inputs[m] = models[m].Tensors[t].Data;
            }

            var output = new float[template.Tensors[t].Data.Length];
            combine(inputs, output);
            tensors[t] = template.Tensors[t] with { Data = output };
        }

        return new ModelWeights(tensors);
    }

    private static void PerCoordinate(IReadOnlyList<float[]> inputs, Span<float> destination, Func<float[], double> statistic)
    {
        if (inputs.Count == 0)
        {
            throw new ArgumentException("At least one input is needed.", nameof(inputs));
        }

        foreach (var input in inputs)
        {
            if (input.Length != destination.Length)
            {
                throw new ArgumentException(
                    $"An input holds {input.Length} values, the destination {destination.Length}.", nameof(inputs));
            }
        }

        var column = new float[inputs.Count];
        for (var e = 0; e < destination.Length; e++)
        {
            for (var i = 0; i < column.Length; i++)
            {
                column[i] = inputs[i][e];
            }

            Array.Sort(column);
            destination[e] = (float)statistic(column);
        }
    }
}
