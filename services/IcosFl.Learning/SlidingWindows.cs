namespace IcosFl.Learning;

/// <summary>
/// Supervised examples cut from a series: <see cref="Inputs"/> is [Count, TimeStep, Features] row-major (TimeStep
/// consecutive time steps, each the forecast metric's value then the input metrics'), <see cref="Targets"/> is [Count]
/// (the forecast metric's value right after each input window).
/// </summary>
public sealed record WindowSet(float[] Inputs, float[] Targets, int TimeStep, int Features = 1)
{
    public int Count => Targets.Length;

    /// <summary>The forecast metric's last value in input window <paramref name="index"/>: the naive persistence forecast.</summary>
    public float LastInput(int index) => Inputs[(index * TimeStep + TimeStep - 1) * Features];
}

public static class SlidingWindows
{
    /// <summary>Windows a series of n values holds at this time-step: n - timeStep (0 if shorter).</summary>
    public static int Count(int length, int timeStep)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeStep, 1);
        return Math.Max(0, length - timeStep);
    }

    /// <summary>Window i is values[i .. i+timeStep-1] -> values[i+timeStep], for every i with a target.</summary>
    public static WindowSet Build(ReadOnlySpan<float> values, int timeStep)
    {
        int count = Count(values.Length, timeStep);
        var inputs = new float[count * timeStep];
        var targets = new float[count];
        for (int i = 0; i < count; i++)
        {
            values.Slice(i, timeStep).CopyTo(inputs.AsSpan(i * timeStep, timeStep));
            targets[i] = values[i + timeStep];
        }

        return new WindowSet(inputs, targets, timeStep);
    }

    /// <summary>
    /// The forecast metric's next <paramref name="steps"/> values after each window of <paramref name="windows"/>, which must
    /// be cut from one contiguous series (so window i + h - 1's target is window i's value h steps ahead): [Count, steps]
    /// row-major, and a mask of the same shape that is 1 where that value lies inside the series and 0 past its end (the
    /// value is then 0). The last windows of a series so still train the steps they can see.
    /// </summary>
    public static (float[] Values, float[] Mask) Ahead(WindowSet windows, int steps)
    {
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        int count = windows.Count;
        var values = new float[count * steps];
        var mask = new float[count * steps];
        for (int i = 0; i < count; i++)
        {
            for (int h = 0; h < steps && i + h < count; h++)
            {
                values[i * steps + h] = windows.Targets[i + h];
                mask[i * steps + h] = 1;
            }
        }

        return (values, mask);
    }

    /// <summary>
    /// Windows over aligned features (features[0] the forecast metric): window i holds, for each step k in 0..timeStep-1,
    /// features[0][i+k], features[1][i+k], ...; its target is features[0][i+timeStep].
    /// </summary>
    public static WindowSet Build(IReadOnlyList<float[]> features, int timeStep)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.Count == 0)
            throw new ArgumentException("Windows need at least one feature.", nameof(features));
        if (features.Count == 1)
            return Build(features[0], timeStep);
        int length = features[0].Length;
        if (features.Any(f => f.Length != length))
            throw new ArgumentException($"The features are not aligned: lengths {string.Join(", ", features.Select(f => f.Length))}.", nameof(features));

        int count = Count(length, timeStep);
        int width = features.Count;
        var inputs = new float[count * timeStep * width];
        var targets = new float[count];
        for (int i = 0; i < count; i++)
        {
            for (int k = 0; k < timeStep; k++)
            {
                for (int f = 0; f < width; f++)
                    inputs[(i * timeStep + k) * width + f] = features[f][i + k];
            }

            targets[i] = features[0][i + timeStep];
        }

        return new WindowSet(inputs, targets, timeStep, width);
    }
}
