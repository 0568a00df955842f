namespace IcosFl.Learning;

/// <summary>A series cut in time: the first part trains, the later part tests (no shuffling across the cut).</summary>
public sealed record SeriesSplit(float[] Train, float[] Test);

public static class ChronologicalSplit
{
    /// <summary>
    /// Points in the training part: floor(length x trainFraction). A tolerance of 1e-9 keeps products such as
    /// 100 x 0.29 (28.999999999999996 in binary floating point) at the count a reader expects (29).
    /// </summary>
    public static int TrainCount(int length, double trainFraction)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (!(trainFraction > 0 && trainFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(trainFraction), trainFraction,
                "train-test-split must lie strictly between 0 and 1.");
        }

        return (int)Math.Floor(length * trainFraction + 1e-9);
    }

    public static SeriesSplit Split(IReadOnlyList<float> series, double trainFraction)
    {
        ArgumentNullException.ThrowIfNull(series);
        int trainCount = TrainCount(series.Count, trainFraction);
        var train = new float[trainCount];
        var test = new float[series.Count - trainCount];
        for (int i = 0; i < series.Count; i++)
        {
            if (i < trainCount)
            {
                train[i] = series[i];
            }
            else
            {
                test[i - trainCount] = series[i];
            }
        }

        return new SeriesSplit(train, test);
    }
}
