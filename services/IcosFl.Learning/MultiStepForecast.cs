using static TorchSharp.torch;

namespace IcosFl.Learning;

/// <summary>
/// Multi-step forecasts: the model's direct head gives its first <see cref="LstmForecaster.OutputSize"/> steps at once
/// (step h from output h); a horizon beyond that is reached recursively, block by block: the predicted values are
/// appended to the window, the oldest steps dropped, and the model runs again. A one-output model (ICOS-FL's) so
/// recurses one step at a time. All windows go through the model together.
/// A multivariate model's input metrics have no forecast of their own, so each appended step holds them at their
/// last observed (scaled) value: persistence for the inputs, the model for the forecast metric. Evaluation and
/// prediction both go through here, so they share that policy.
/// </summary>
public static class MultiStepForecast
{
    /// <summary>
    /// Forecasts <paramref name="horizon"/> steps after each of <paramref name="count"/> scaled windows
    /// (<paramref name="windows"/> is [count, timeStep, model.InputSize] row-major, the forecast metric first at each step);
    /// returns the forecast metric, [count, horizon] row-major, scaled.
    /// </summary>
    public static float[] Recursive(LstmForecaster model, float[] windows, int count, int timeStep, int horizon)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentOutOfRangeException.ThrowIfLessThan(horizon, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(timeStep, 1);
        int features = model.InputSize;
        if (windows.Length != count * timeStep * features)
            throw new ArgumentException(
                $"{windows.Length} window values do not make {count} windows of {timeStep}" + (features == 1 ? "." : $" steps x {features} features."),
                nameof(windows));

        var forecasts = new float[count * horizon];
        if (count == 0)
            return forecasts;
        model.eval();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var window = tensor(windows, [count, timeStep, features]);
        // The input metrics of the last observed step, held for every step ahead.
        var heldInputs = features > 1 ? window.narrow(1, timeStep - 1, 1).narrow(2, 1, features - 1) : null;
        for (int done = 0; done < horizon;)
        {
            using var stepScope = NewDisposeScope();
            int block = Math.Min(model.OutputSize, horizon - done);
            var next = model.forward(window).narrow(1, 0, block).contiguous();
            var values = next.data<float>().ToArray();
            for (int i = 0; i < count; i++)
                Array.Copy(values, i * block, forecasts, i * horizon + done, block);
            done += block;
            if (done == horizon)
                break;
            var steps = next.reshape(count, block, 1);
            if (heldInputs is not null)
                steps = cat([steps, heldInputs.expand(count, block, features - 1)], 2);
            var extended = cat([window, steps], 1);
            window = extended.narrow(1, block, timeStep).contiguous().MoveToOuterDisposeScope();
        }

        return forecasts;
    }
}

/// <summary>The naive forecasts a model must beat.</summary>
public static class Baselines
{
    /// <summary>Persistence: every step ahead repeats the last observed value series[origin].</summary>
    public static float Persistence(IReadOnlyList<float> series, int origin) => series[origin];

    /// <summary>
    /// Seasonal naive: step h after the last observed point series[origin] repeats the value one season
    /// earlier, series[origin + h - period x ceil(h / period)], i.e. the latest observed point of the same phase.
    /// </summary>
    public static float SeasonalNaive(IReadOnlyList<float> series, int origin, int h, int period)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(h, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(period, 1);
        int seasonsBack = (h + period - 1) / period;
        int index = origin + h - period * seasonsBack;
        if (index < 0)
            throw new ArgumentOutOfRangeException(nameof(origin), $"Seasonal naive needs {-index} more points of history before index {origin} (period {period}, step {h}).");
        return series[index];
    }
}

/// <summary>
/// The season of a series: the lag, after the autocorrelation first turns negative, at which it peaks again,
/// if that peak is clearly seasonal (autocorrelation >= 0.2). Estimated on the training part only.
/// </summary>
public static class SeasonalPeriod
{
    public const double MinimumAutocorrelation = 0.2;

    public static int? Estimate(ReadOnlySpan<float> values, int maxLag)
    {
        int n = values.Length;
        maxLag = Math.Min(maxLag, n / 2);
        if (maxLag < 2)
            return null;
        double mean = 0;
        foreach (var v in values)
            mean += v;
        mean /= n;
        double variance = 0;
        foreach (var v in values)
            variance += (v - mean) * (v - mean);
        if (variance == 0)
            return null;

        bool crossed = false;
        int best = -1;
        double bestCorrelation = double.NegativeInfinity;
        for (int lag = 1; lag <= maxLag; lag++)
        {
            double sum = 0;
            for (int t = lag; t < n; t++)
                sum += (values[t] - mean) * (values[t - lag] - mean);
            double correlation = sum / variance;
            if (!crossed)
            {
                crossed = correlation < 0;
                continue;
            }

            if (correlation > bestCorrelation)
                (best, bestCorrelation) = (lag, correlation);
        }

        return best > 0 && bestCorrelation >= MinimumAutocorrelation ? best : null;
    }
}
