namespace IcosFl.Learning;

/// <summary>
/// Scales values to [0, 1] by the minimum and maximum seen when fitting (on the training part only, so
/// nothing of the test part leaks into training). Values outside the fitted range map outside [0, 1].
/// A constant series has no range: like scikit-learn, the scale is then 1, so it maps to 0 and back exactly.
/// </summary>
public sealed record MinMaxScaler(float Min, float Max)
{
    public float Range => Max > Min ? Max - Min : 1f;

    public static MinMaxScaler Fit(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty)
        {
            throw new ArgumentException("Cannot fit a scaler on an empty series.", nameof(values));
        }

        float min = float.PositiveInfinity;
        float max = float.NegativeInfinity;
        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i];
            if (!float.IsFinite(v))
            {
                throw new ArgumentException($"Cannot fit a scaler: value {i} is {v}.", nameof(values));
            }

            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }

        return new MinMaxScaler(min, max);
    }

    public float Transform(float value) => (value - Min) / Range;

    public float Inverse(float scaled) => scaled * Range + Min;

    public float[] Transform(ReadOnlySpan<float> values)
    {
        var scaled = new float[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            scaled[i] = Transform(values[i]);
        }

        return scaled;
    }
}
