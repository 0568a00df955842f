namespace IcosFl.Learning;

/// <summary>
/// Supervised examples cut from a series: <see cref="Inputs"/> is [Count, TimeStep] row-major (TimeStep
/// consecutive values), <see cref="Targets"/> is [Count] (the value right after each input window).
/// </summary>
public sealed record WindowSet(float[] Inputs, float[] Targets, int TimeStep)
{
    public int Count => Targets.Length;

    /// <summary>The last value of input window <paramref name="index"/>: the naive persistence forecast.</summary>
    public float LastInput(int index) => Inputs[index * TimeStep + TimeStep - 1];
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
}
