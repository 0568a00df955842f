namespace IcosFl.Controller.Strategies;

/// <summary>
/// Flower's client sampling, made deterministic: sample size = max(int(available x fraction), minimum),
/// capped at the number available, drawn with <see cref="Random"/> seeded by the caller.
/// </summary>
public static class ClientSampling
{
    /// <summary>Flower's num_fit_clients / num_evaluation_clients: max(int(available x fraction), minimum), capped at available.</summary>
    public static int SampleSize(int available, double fraction, int minimum)
    {
        if (available < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(available), available, "The number of available workers cannot be negative.");
        }

        if (!(fraction >= 0 && fraction <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "A sampling fraction must be in [0, 1].");
        }

        var size = Math.Max((int)(available * fraction), minimum);
        return Math.Min(size, available);
    }

    /// <summary>
    /// Samples <see cref="SampleSize"/> distinct workers. The same ids (in any order), fraction, minimum and
    /// seed always give the same sample; the result is sorted (ordinal).
    /// </summary>
    public static IReadOnlyList<string> Sample(IReadOnlyList<string> available, double fraction, int minimum, int seed)
    {
        // Sorted first so that the caller's ordering of live workers cannot change the sample.
        var pool = available.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var size = SampleSize(pool.Length, fraction, minimum);
        var random = new Random(seed);
        // Partial Fisher-Yates: the first `size` slots become a uniform sample without replacement.
        for (var i = 0; i < size; i++)
        {
            var j = random.Next(i, pool.Length);
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }

        return pool.Take(size).Order(StringComparer.Ordinal).ToArray();
    }
}
