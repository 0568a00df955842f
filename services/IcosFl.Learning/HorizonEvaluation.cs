using IcosFl.Contracts;

namespace IcosFl.Learning;

/// <summary>Errors h steps ahead, in the metric's units: the model's, persistence's and seasonal-naive's (null when the series shows no season).</summary>
public sealed record HorizonError(int Horizon, double Rmse, double Mae, double PersistenceRmse, double PersistenceMae, double? SeasonalRmse, double? SeasonalMae);

/// <summary>A multi-step evaluation: forecast origins used, the season the seasonal-naive baseline used, errors per step ahead (1..horizon).</summary>
public sealed record HorizonEvaluationResult(int Origins, int? SeasonPeriod, IReadOnlyList<HorizonError> ByHorizon)
{
    public HorizonError At(int horizon) => ByHorizon[horizon - 1];
}

/// <summary>
/// Multi-step evaluation on the chronological hold-out: from every test window (the time-step points up to an
/// origin, all inside the test part) the model forecasts forecast-horizon steps recursively; each step ahead is
/// scored against the actual values beside persistence and seasonal naive. The scaler and the season are fitted
/// on the training part only; seasonal naive may look back into the training part, which is the past.
/// A multivariate model reads its input metrics' observed values up to the origin and holds them at their last
/// value beyond it (<see cref="MultiStepForecast"/>); both baselines read the forecast metric only.
/// </summary>
public static class HorizonEvaluation
{
    public static HorizonEvaluationResult Evaluate(ModelWeights weights, IReadOnlyList<float> series, RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(config);
        return Evaluate(weights, FeatureSeries.Univariate(config.Metric, series), config);
    }

    public static HorizonEvaluationResult Evaluate(ModelWeights weights, FeatureSeries features, RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(config);
        RunConfigChecks.Require(config, RunConfigKeys.ForecastHorizon);
        int horizon = config.ForecastHorizon;
        var prepared = PreparedSeries.Prepare(features, config);
        var series = features.Target;
        int width = features.FeatureCount;
        int trainCount = ChronologicalSplit.TrainCount(series.Count, config.TrainTestSplit);
        int timeStep = config.TimeStep;
        int firstOrigin = trainCount + timeStep - 1;
        int origins = series.Count - horizon - firstOrigin;
        if (origins < 1)
            throw new InsufficientDataException(series.Count, firstOrigin + horizon + 1,
                $"one test window of time-step {timeStep} points followed by forecast-horizon {horizon} actual points after the train-test-split {config.TrainTestSplit}");

        var train = series.Take(trainCount).ToArray();
        int? period = SeasonalPeriod.Estimate(train, trainCount / 2);
        var forecasts = HeldOutForecasts(weights, features, config, prepared, firstOrigin, origins);

        var errors = new List<HorizonError>(horizon);
        for (int h = 1; h <= horizon; h++)
        {
            double sq = 0, abs = 0, psq = 0, pabs = 0, ssq = 0, sabs = 0;
            for (int o = 0; o < origins; o++)
            {
                int origin = firstOrigin + o;
                double actual = series[origin + h];
                double e = prepared.Scaler.Inverse(forecasts[o * horizon + h - 1]) - actual;
                double pe = Baselines.Persistence(series, origin) - actual;
                sq += e * e;
                abs += Math.Abs(e);
                psq += pe * pe;
                pabs += Math.Abs(pe);
                if (period is { } p)
                {
                    double se = Baselines.SeasonalNaive(series, origin, h, p) - actual;
                    ssq += se * se;
                    sabs += Math.Abs(se);
                }
            }

            errors.Add(new HorizonError(h, Math.Sqrt(sq / origins), abs / origins, Math.Sqrt(psq / origins), pabs / origins,
                period is null ? null : Math.Sqrt(ssq / origins), period is null ? null : sabs / origins));
        }

        return new HorizonEvaluationResult(origins, period, errors);
    }

    /// <summary>
    /// The model's scaled forecasts, forecast-horizon values per origin, from every held-out origin
    /// (firstOrigin .. firstOrigin + origins - 1), each from the time-step points ending there.
    /// </summary>
    public static float[] HeldOutForecasts(ModelWeights weights, FeatureSeries features, RunConfig config, PreparedSeries prepared, int firstOrigin, int origins)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(prepared);
        int width = features.FeatureCount, timeStep = config.TimeStep, horizon = config.ForecastHorizon;
        var windows = new float[origins * timeStep * width];
        for (int o = 0; o < origins; o++)
        {
            for (int k = 0; k < timeStep; k++)
            {
                for (int f = 0; f < width; f++)
                    windows[(o * timeStep + k) * width + f] = prepared.Scalers[f].Transform(features.Values[f][firstOrigin + o - timeStep + 1 + k]);
            }
        }

        using var model = LstmForecaster.For(config);
        model.LoadWeights(weights);
        return MultiStepForecast.Recursive(model, windows, origins, timeStep, horizon);
    }
}
