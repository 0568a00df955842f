using IcosFl.Contracts;

namespace IcosFl.Controller.Strategies;

/// <summary>
/// Server-side fixed clipping with Gaussian noise around any strategy, after Flower's
/// DifferentialPrivacyServerSideFixedClipping: each valid update's delta (update - global) is clipped to
/// L2 norm clip-norm, the wrapped strategy aggregates the clipped updates, and Gaussian noise with
/// stddev noise-multiplier · clip-norm / m is added to every element of the resulting model, where m is
/// the number of updates that passed validation (the count the aggregate is taken over; Flower uses the
/// configured sample size).
/// </summary>
/// <remarks>
/// Everything but <see cref="AggregateTrain"/> is the wrapped strategy's, forwarded as it is.
/// There is NO formal privacy accounting here: no epsilon/delta is computed, tracked or enforced, and
/// nothing limits how many rounds release a model. The noise is also drawn from a
/// <see cref="Random"/> seeded by the round (<see cref="RoundContext.SamplingSeed"/>) so that runs are
/// reproducible, which means anyone who knows the run's seed can reproduce and subtract it. Treat this
/// as a robustness measure (bounded influence of any one update) and an experiment, not as a
/// differential-privacy guarantee.
/// </remarks>
public sealed class DifferentialPrivacyServerSideFixedClipping : IStrategy
{
    // Noise must not reuse the sampling draw of the same round.
    private const int NoiseSeedSalt = 0x6A09E667;

    public DifferentialPrivacyServerSideFixedClipping(IStrategy inner, double clipNorm, double noiseMultiplier)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (!(double.IsFinite(clipNorm) && clipNorm > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(clipNorm), clipNorm, "The clipping norm (clip-norm) must be a positive number.");
        }

        if (!(double.IsFinite(noiseMultiplier) && noiseMultiplier >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(noiseMultiplier), noiseMultiplier, "The noise multiplier (noise-multiplier) must be a number >= 0.");
        }

        Inner = inner;
        ClipNorm = clipNorm;
        NoiseMultiplier = noiseMultiplier;
    }

    public IStrategy Inner { get; }

    public double ClipNorm { get; }

    public double NoiseMultiplier { get; }

    public string Name => $"{Inner.Name}+dp-fixed-clipping";

    public ModelWeights InitializeParameters(RunConfig config) => Inner.InitializeParameters(config);

    public CentralizedEvaluation Evaluate(RoundContext round, ModelWeights global, IControllerData data) =>
        Inner.Evaluate(round, global, data);

    public IReadOnlyList<string> ConfigureTrain(RoundContext round, IReadOnlyList<string> availableWorkers) =>
        Inner.ConfigureTrain(round, availableWorkers);

    public IReadOnlyList<string> ConfigureEvaluate(RoundContext round, IReadOnlyList<string> availableWorkers) =>
        Inner.ConfigureEvaluate(round, availableWorkers);

    public EvaluationSummary AggregateEvaluate(RoundContext round, IReadOnlyList<ClientEvaluation> results) =>
        Inner.AggregateEvaluate(round, results);

    public AggregationResult AggregateTrain(RoundContext round, ModelWeights global, IReadOnlyList<ClientUpdate> updates, ModelWeights? serverState)
    {
        // Validate before clipping: clipping would hide an oversized update from max-update-norm.
        var (accepted, rejected) = FedAvg.Screen(round, global, updates);
        var clipped = accepted
            .Select(u => u with { Weights = Aggregation.ClipDelta(u.Weights, global, ClipNorm, out _) })
            .ToArray();
        var result = Inner.AggregateTrain(round, global, clipped, serverState);
        var model = NoiseMultiplier > 0
            ? AddGaussianNoise(result.Global, NoiseStddev(clipped.Length), new Random(round.SamplingSeed ^ NoiseSeedSalt))
            : result.Global;
        return result with { Global = model, Rejected = [.. rejected, .. result.Rejected] };
    }

    /// <summary>noise-multiplier · clip-norm / participants (Flower's compute_stdv).</summary>
    public double NoiseStddev(int participants) => NoiseMultiplier * ClipNorm / participants;

    /// <summary>A copy of <paramref name="model"/> with N(0, stddev²) noise added to every element.</summary>
    public static ModelWeights AddGaussianNoise(ModelWeights model, double stddev, Random random)
    {
        var tensors = new NamedTensor[model.Tensors.Count];
        for (var t = 0; t < tensors.Length; t++)
        {
            var source = model.Tensors[t].Data;
            var noisy = new float[source.Length];
            for (var i = 0; i < source.Length; i += 2)
            {
                // Box-Muller: two independent standard normals from two uniforms in (0, 1].
                var radius = Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble()));
                var angle = 2.0 * Math.PI * random.NextDouble();
                noisy[i] = (float)(source[i] + (stddev * radius * Math.Cos(angle)));
                if (i + 1 < source.Length)
                {
                    noisy[i + 1] = (float)(source[i + 1] + (stddev * radius * Math.Sin(angle)));
                }
            }

            tensors[t] = model.Tensors[t] with { Data = noisy };
        }

        return new ModelWeights(tensors);
    }
}
