using IcosFl.Learning;

namespace IcosFl.Cli.Experiment;

/// <summary>
/// A least-squares AR(p) one-step predictor, value[t+1] = c + Σ a_i·value[t−i], fitted on a series' training part.
/// The experiment reports it as a reference beside the LSTM: what a plain linear model over the same window of
/// past values reaches on this data, so a target that the LSTM misses or meets can be judged against what the data
/// allows.
/// </summary>
public sealed class LinearAutoregression
{
    private readonly double[] coefficients; // [intercept, a_1 (newest) .. a_p (oldest)]

    private LinearAutoregression(double[] coefficients) => this.coefficients = coefficients;

    public int Order => coefficients.Length - 1;

    /// <summary>Fits on every window of <paramref name="order"/> points inside <paramref name="train"/> (normal equations, Cholesky).</summary>
    public static LinearAutoregression Fit(IReadOnlyList<float> train, int order)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentOutOfRangeException.ThrowIfLessThan(order, 1);
        int n = train.Count - order;
        if (n < order + 1)
            throw new ArgumentException($"An AR({order}) fit needs at least {2 * order + 1} training points, got {train.Count}.", nameof(train));

        int k = order + 1;
        var gram = new double[k, k];
        var moment = new double[k];
        var row = new double[k];
        for (int t = order; t < train.Count; t++)
        {
            Regressors(train, t - 1, row);
            double target = train[t];
            for (int i = 0; i < k; i++)
            {
                moment[i] += row[i] * target;
                for (int j = 0; j <= i; j++)
                    gram[i, j] += row[i] * row[j];
            }
        }

        // A ridge of 1e-9 of the mean diagonal keeps the solve defined on flat stretches; it moves no coefficient measurably.
        double ridge = 0;
        for (int i = 0; i < k; i++)
            ridge += gram[i, i];
        ridge *= 1e-9 / k;
        for (int i = 0; i < k; i++)
            gram[i, i] += ridge;
        return new LinearAutoregression(SolveSymmetric(gram, moment));
    }

    /// <summary>The forecast of value[origin + 1] from value[origin − p + 1 .. origin].</summary>
    public double Predict(IReadOnlyList<float> series, int origin)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (origin < Order - 1 || origin >= series.Count)
            throw new ArgumentOutOfRangeException(nameof(origin), $"AR({Order}) needs {Order} points up to index {origin} of a series of {series.Count}.");
        var row = new double[coefficients.Length];
        Regressors(series, origin, row);
        double sum = 0;
        for (int i = 0; i < row.Length; i++)
            sum += coefficients[i] * row[i];
        return sum;
    }

    /// <summary>
    /// The forecasts of value[origin + 1 .. origin + steps], recursively: each forecast joins the window as if observed
    /// (a linear model's own multi-step forecast, as <see cref="MultiStepForecast"/> runs a one-output LSTM).
    /// </summary>
    public double[] Forecast(IReadOnlyList<float> series, int origin, int steps)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        if (origin < Order - 1 || origin >= series.Count)
            throw new ArgumentOutOfRangeException(nameof(origin), $"AR({Order}) needs {Order} points up to index {origin} of a series of {series.Count}.");
        // window[k] = value[origin - Order + 1 + k] for the observed part, then the forecasts.
        var window = new double[Order + steps];
        for (int k = 0; k < Order; k++)
            window[k] = series[origin - Order + 1 + k];
        var forecasts = new double[steps];
        for (int h = 0; h < steps; h++)
        {
            double sum = coefficients[0];
            for (int i = 1; i <= Order; i++)
                sum += coefficients[i] * window[Order + h - i];
            window[Order + h] = forecasts[h] = sum;
        }

        return forecasts;
    }

    private static void Regressors(IReadOnlyList<float> series, int origin, double[] row)
    {
        row[0] = 1;
        for (int i = 1; i < row.Length; i++)
            row[i] = series[origin - i + 1];
    }

    // Cholesky of the lower triangle, then forward and back substitution.
    private static double[] SolveSymmetric(double[,] a, double[] b)
    {
        int k = b.Length;
        var l = new double[k, k];
        for (int i = 0; i < k; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                double sum = a[i, j];
                for (int m = 0; m < j; m++)
                    sum -= l[i, m] * l[j, m];
                if (i == j)
                {
                    if (sum <= 0)
                        throw new InvalidOperationException("The AR normal equations are not positive definite (a constant training part?).");
                    l[i, i] = Math.Sqrt(sum);
                }
                else
                {
                    l[i, j] = sum / l[j, j];
                }
            }
        }

        var y = new double[k];
        for (int i = 0; i < k; i++)
        {
            double sum = b[i];
            for (int m = 0; m < i; m++)
                sum -= l[i, m] * y[m];
            y[i] = sum / l[i, i];
        }

        var x = new double[k];
        for (int i = k - 1; i >= 0; i--)
        {
            double sum = y[i];
            for (int m = i + 1; m < k; m++)
                sum -= l[m, i] * x[m];
            x[i] = sum / l[i, i];
        }

        return x;
    }
}
