using System.Diagnostics;
using IcosFl.Contracts;
using IcosFl.Controller.Strategies;
using IcosFl.Learning;

namespace IcosFl.Cli.Experiment;

/// <summary>Settings of one quality experiment.</summary>
/// <param name="Series">
/// Each worker's aligned series of the run's inputs (the forecast metric, then its input-metrics), synthetic or read from --data.
/// </param>
public sealed record ExperimentSettings(IReadOnlyList<(string Worker, FeatureSeries Features)> Series, RunConfig Config, string Data)
{
    /// <summary>Univariate workers: each worker's values of the run's metric.</summary>
    public static ExperimentSettings Univariate(IReadOnlyList<(string Worker, float[] Values)> series, RunConfig config, string data) =>
        new(series.Select(s => (s.Worker, FeatureSeries.Univariate(config.Metric, s.Values))).ToList(), config, data);
}

/// <summary>One model's error h steps ahead, averaged over the workers (or of one worker).</summary>
public sealed record ExperimentRow(string Model, int Horizon, double Rmse, double Mae);

public sealed record WorkerRows(string Worker, int Points, int? SeasonPeriod, IReadOnlyList<ExperimentRow> Rows);

public sealed record ExperimentTarget(string Name, double Value, double Limit, bool Met);

public sealed record ExperimentReport(
    IReadOnlyList<ExperimentRow> Rows, IReadOnlyList<WorkerRows> Workers, IReadOnlyList<ExperimentTarget> Targets,
    IReadOnlyDictionary<string, string> RunConfig, string Data, double DurationMs)
{
    public bool TargetsMet => Targets.All(t => t.Met);
}

/// <summary>
/// Trains on the same workers' series (a) the federated model: FedAvg rounds in this process, each worker
/// training from the global model with <see cref="LocalTraining.Train"/> and the controller's own pure
/// <see cref="Aggregation.WeightedAverage"/> weighting by training windows (what `simulate` does over messages,
/// without the transport, so the experiment measures learning alone and repeats exactly); (b) each worker's
/// local-only model, from the same initial weights, for the same epochs in total (rounds x local-epochs);
/// (c) one centralized model on the pooled training windows, also for rounds x local-epochs epochs. Each is
/// scored on every worker's held-out later part, 1 and forecast-horizon steps ahead, beside persistence and
/// seasonal naive, and one step ahead beside a least-squares AR(time-step) fitted per worker (a reference for
/// what a linear model over the same window reaches on the data).
/// </summary>
public static class QualityExperiment
{
    public const string Federated = "federated";
    public const string Local = "local";
    public const string Centralized = "centralized";
    public const string LinearAr = "linear-ar";
    public const string Persistence = "persistence";
    public const string SeasonalNaive = "seasonal-naive";

    public static ExperimentReport Run(ExperimentSettings settings, Action<string> progress, CancellationToken cancellationToken = default)
    {
        var stopwatch = Stopwatch.StartNew();
        var config = settings.Config;
        var series = settings.Series;
        var initial = LocalTraining.InitialWeights(config);

        var global = initial;
        for (int round = 1; round <= config.NumServerRounds; round++)
        {
            var results = series
                .Select((s, i) => LocalTraining.Train(global, s.Features, config, Seed(config.Seed, i, round), cancellationToken))
                .ToList();
            global = Aggregation.WeightedAverage(results.Select(r => r.Weights).ToList(), results.Select(r => (double)r.NumExamples).ToList());
            progress($"federated round {round}/{config.NumServerRounds}: train loss {Aggregation.WeightedMean(results.Select(r => r.Loss).ToList(), results.Select(r => (double)r.NumExamples).ToList()):G4}");
        }

        var totalEpochs = config with { LocalEpochs = config.LocalEpochs * config.NumServerRounds };
        var local = series
            .Select((s, i) => LocalTraining.Train(initial, s.Features, totalEpochs, Seed(config.Seed, i, 0), cancellationToken).Weights)
            .ToList();
        progress($"local-only: {series.Count} models trained, {totalEpochs.LocalEpochs} epochs each");
        var centralized = LocalTraining.TrainPooled(initial, series.Select(s => s.Features).ToList(), totalEpochs, config.Seed, cancellationToken).Weights;
        progress($"centralized: one model on the pooled windows, {totalEpochs.LocalEpochs} epochs");

        int horizon = config.ForecastHorizon;
        var horizons = horizon == 1 ? new[] { 1 } : new[] { 1, horizon };
        var perWorker = new List<WorkerRows>();
        for (int i = 0; i < series.Count; i++)
        {
            var features = series[i].Features;
            var values = features.Target.ToArray();
            var fed = HorizonEvaluation.Evaluate(global, features, config);
            var own = HorizonEvaluation.Evaluate(local[i], features, config);
            var central = HorizonEvaluation.Evaluate(centralized, features, config);
            var linear = LinearReference(values, config, horizons);
            var rows = new List<ExperimentRow>();
            foreach (var h in horizons)
            {
                rows.Add(new ExperimentRow(Federated, h, fed.At(h).Rmse, fed.At(h).Mae));
                rows.Add(new ExperimentRow(Local, h, own.At(h).Rmse, own.At(h).Mae));
                rows.Add(new ExperimentRow(Centralized, h, central.At(h).Rmse, central.At(h).Mae));
                if (linear?.FirstOrDefault(r => r.Horizon == h) is { } linearRow)
                    rows.Add(linearRow);
                rows.Add(new ExperimentRow(Persistence, h, fed.At(h).PersistenceRmse, fed.At(h).PersistenceMae));
                if (fed.At(h).SeasonalRmse is { } srmse)
                    rows.Add(new ExperimentRow(SeasonalNaive, h, srmse, fed.At(h).SeasonalMae!.Value));
            }

            perWorker.Add(new WorkerRows(series[i].Worker, values.Length, fed.SeasonPeriod, rows));
        }

        // Averages over the workers; seasonal naive over those workers whose series shows a season.
        var averaged = perWorker.SelectMany(w => w.Rows)
            .GroupBy(r => (r.Model, r.Horizon))
            .Select(g => new ExperimentRow(g.Key.Model, g.Key.Horizon, g.Average(r => r.Rmse), g.Average(r => r.Mae)))
            .OrderBy(r => r.Horizon).ThenBy(r => Order(r.Model))
            .ToList();
        double Rmse(string model) => averaged.Single(r => r.Model == model && r.Horizon == 1).Rmse;
        var (f, l, c, p) = (Rmse(Federated), Rmse(Local), Rmse(Centralized), Rmse(Persistence));
        var targets = new List<ExperimentTarget>
        {
            new("federated / centralized RMSE, one step", f / c, 1.10, f / c <= 1.10),
            new("federated / local-only RMSE, one step", f / l, 1.0, f < l),
            new("federated / persistence RMSE, one step", f / p, 0.85, f / p <= 0.85),
        };
        return new ExperimentReport(averaged, perWorker, targets, RunConfigParser.ToDictionary(config), settings.Data, stopwatch.Elapsed.TotalMilliseconds);
    }

    private static int Order(string model) => model switch
    {
        Federated => 0, Local => 1, Centralized => 2, LinearAr => 3, Persistence => 4, _ => 5,
    };

    /// <summary>
    /// The least-squares AR(time-step) errors at each of <paramref name="horizons"/> on the same forecast origins as
    /// <see cref="HorizonEvaluation"/>, fitted on the worker's own training part: a linear model over the same window as
    /// the LSTM, forecasting further steps recursively. Left out (null) where the training part is too short for the fit
    /// (fewer than 2 x time-step + 1 points).
    /// </summary>
    private static List<ExperimentRow>? LinearReference(float[] values, RunConfig config, int[] horizons)
    {
        int trainCount = ChronologicalSplit.TrainCount(values.Length, config.TrainTestSplit);
        if (trainCount < 2 * config.TimeStep + 1)
            return null;
        var ar = LinearAutoregression.Fit(values[..trainCount], config.TimeStep);
        int firstOrigin = trainCount + config.TimeStep - 1, origins = values.Length - config.ForecastHorizon - firstOrigin;
        int furthest = horizons.Max();
        var squared = new double[furthest + 1];
        var absolute = new double[furthest + 1];
        for (int origin = firstOrigin; origin < firstOrigin + origins; origin++)
        {
            var forecast = ar.Forecast(values, origin, furthest);
            foreach (var h in horizons)
            {
                double error = forecast[h - 1] - values[origin + h];
                squared[h] += error * error;
                absolute[h] += Math.Abs(error);
            }
        }

        return horizons.Select(h => new ExperimentRow(LinearAr, h, Math.Sqrt(squared[h] / origins), absolute[h] / origins)).ToList();
    }

    private static int Seed(int seed, int worker, int round) => unchecked(seed * 7919 + worker * 104_729 + round * 31);
}
