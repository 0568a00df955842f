using IcosFl.Contracts;

namespace IcosFl.Learning;

/// <summary>
/// Clearly synthetic node metrics for the embedded simulation, one series per node, sampled every 3 s.
/// Non-IID on purpose, as real fleets are: each node has its own level, amplitude, cycle length and phase
/// (a daily-like cycle compressed to 8 to 25 minutes so short runs see several), plus correlated noise and
/// occasional bursts. Deterministic in (seed, nodeIndex). Values are in the metric's units and clamped to
/// the metric's plausible range.
/// </summary>
public static class SyntheticFleet
{
    public const double SampleIntervalSeconds = 3;

    // Floor, ceiling and the level band nodes idle around, in the metric's units.
    private sealed record Profile(float Floor, float Ceiling, double LevelLow, double LevelHigh);

    private static readonly Dictionary<string, Profile> Profiles = new()
    {
        // 1-minute load average of a 4-core node.
        [Metrics.CpuUsage] = new Profile(0f, 4f, 0.6, 2.0),
        // MiB of memory used.
        [Metrics.MemoryUsage] = new Profile(1000f, 8000f, 2500, 5000),
        // Watts drawn.
        [Metrics.PowerConsumption] = new Profile(40f, 250f, 80, 150),
    };

    public static float[] Series(string metric, int nodeIndex, int length, int seed)
    {
        ArgumentNullException.ThrowIfNull(metric);
        if (!Profiles.TryGetValue(metric, out var profile))
        {
            throw new ArgumentException(
                $"No synthetic profile for metric '{metric}'; known metrics: {string.Join(", ", Metrics.All)}.", nameof(metric));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(nodeIndex);
        ArgumentOutOfRangeException.ThrowIfNegative(length);

        var random = new Random(HashCode(seed, nodeIndex));
        double span = profile.Ceiling - profile.Floor;
        double level = Between(random, profile.LevelLow, profile.LevelHigh);
        double amplitude = span * Between(random, 0.06, 0.18);
        double periodSamples = Between(random, 160, 500);
        double phase = Between(random, 0, 2 * Math.PI);
        double harmonic = Between(random, 0.1, 0.4); // a second harmonic makes the cycle non-sinusoidal
        double noise = span * Between(random, 0.005, 0.02);
        double burstChance = Between(random, 0.002, 0.008);

        var series = new float[length];
        double correlatedNoise = 0;
        double burst = 0;
        int burstLeft = 0;
        for (int t = 0; t < length; t++)
        {
            double angle = 2 * Math.PI * t / periodSamples + phase;
            double cycle = amplitude * (Math.Sin(angle) + harmonic * Math.Sin(2 * angle + 1));
            // Slow drift (correlated) plus sampling jitter (white): the jitter is what a model that looks at
            // the whole window can average away and a persistence forecast cannot.
            correlatedNoise = 0.7 * correlatedNoise + 0.5 * noise * Gaussian(random);
            double jitter = noise * Gaussian(random);
            if (burstLeft == 0 && random.NextDouble() < burstChance)
            {
                burstLeft = random.Next(5, 30);
                burst = span * Between(random, 0.08, 0.25);
            }

            double value = level + cycle + correlatedNoise + jitter + (burstLeft > 0 ? burst : 0);
            burstLeft = Math.Max(0, burstLeft - 1);
            series[t] = (float)Math.Clamp(value, profile.Floor, profile.Ceiling);
        }

        return series;
    }

    // A fixed mix (not System.HashCode, which is randomised per process) so series repeat across runs.
    private static int HashCode(int seed, int nodeIndex) => unchecked((seed * 486_187_739) ^ (nodeIndex * 16_777_619 + 374_761_393));

    private static double Between(Random random, double low, double high) => low + random.NextDouble() * (high - low);

    private static double Gaussian(Random random)
    {
        // Box-Muller; 1 - NextDouble() lies in (0, 1], so the logarithm is finite.
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
