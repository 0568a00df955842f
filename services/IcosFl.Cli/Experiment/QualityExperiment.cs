using System.Diagnostics;
using System.Text.Json.Serialization;
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

/// <summary>
/// What personalization did on one worker: the global model and the fine-tuned one scored on the validation slice
/// (the last train-test-split share of the worker's training part), and which one the worker kept.
/// </summary>
public sealed record PersonalizationChoice(bool FineTunedKept, double? ValidationGlobalRmse1, double? ValidationFineTunedRmse1,
    double? ValidationGlobalRmseHorizon, double? ValidationFineTunedRmseHorizon, string Reason);

public sealed record WorkerRows(string Worker, int Points, int? SeasonPeriod, IReadOnlyList<ExperimentRow> Rows, PersonalizationChoice Personalization);

/// <summary>One target: the measured value, how it compares (<c>&lt;=</c>, <c>&lt;</c> or <c>&gt;=</c>) with its limit, met or not.</summary>
public sealed record ExperimentTarget(string Name, double Value, string Comparison, double Limit, bool Met);

/// <summary>What the picture draws of one worker: its held-out actual values and the federated forecasts, and every model's RMSE per step.</summary>
/// <param name="FirstOrigin">Index in the worker's series of the first forecast origin (its held-out windows end there and later).</param>
/// <param name="OneStep">The federated one-step forecast of value[FirstOrigin + 1 + o], for every origin o.</param>
/// <param name="HorizonOrigins">Origins (series indices) the full-horizon forecasts start from.</param>
/// <param name="HorizonForecasts">The federated forecast of value[origin + 1 .. origin + horizon] from each of <paramref name="HorizonOrigins"/>.</param>
/// <param name="RmseByStep">Each model's RMSE at steps 1..horizon.</param>
public sealed record WorkerCurves(string Worker, IReadOnlyList<float> Actual, int FirstOrigin, IReadOnlyList<double> OneStep,
    IReadOnlyList<int> HorizonOrigins, IReadOnlyList<IReadOnlyList<double>> HorizonForecasts, IReadOnlyDictionary<string, double[]> RmseByStep);

public sealed record ExperimentReport(
    IReadOnlyList<ExperimentRow> Rows, IReadOnlyList<WorkerRows> Workers, IReadOnlyList<ExperimentTarget> Targets,
    IReadOnlyDictionary<string, string> RunConfig, string Data, string ServedModel, IReadOnlyDictionary<string, string> Personalization, double DurationMs)
{
    public bool TargetsMet => Targets.All(t => t.Met);

    /// <summary>Per-step curves for the picture (not in the JSON report: 100 steps x 7 models x workers).</summary>
    [JsonIgnore]
    public IReadOnlyList<WorkerCurves> Curves { get; init; } = [];
}

/// <summary>
/// Trains on the same workers' series (a) the federated model: FedAvg rounds in this process, each worker
/// training from the global model with <see cref="LocalTraining.Train"/> and the controller's own pure
/// <see cref="Aggregation.WeightedAverage"/> weighting by training windows (what `simulate` does over messages,
/// without the transport, so the experiment measures learning alone and repeats exactly); (b) federated +
/// personalized: the global model fine-tuned on each worker, kept only where a validation slice of the worker's
/// training part says it is not worse (<see cref="Personalize"/>); (c) each worker's local-only model, from the
/// same initial weights, for the same epochs in total (rounds x local-epochs); (d) one centralized model on the
/// pooled training windows, also for rounds x local-epochs epochs. Each is scored on every worker's held-out later
/// part at every step 1..forecast-horizon, beside persistence, seasonal naive, and a least-squares AR(time-step)
/// fitted per worker (what a linear model over the same window reaches on the data).
/// </summary>
public static class QualityExperiment
{
    public const string Federated = "federated";
    public const string Personalized = "federated+personalized";
    public const string Local = "local";
    public const string Centralized = "centralized";
    public const string LinearAr = "linear-ar";
    public const string Persistence = "persistence";
    public const string SeasonalNaive = "seasonal-naive";

    /// <summary>The model `predict` serves a node: the federation's global model (personalization is reported, not served).</summary>
    public const string ServedModel = Federated;

    /// <summary>Fine-tuning epochs of the global model's head on each worker (chosen by measurement: docs/forecast-quality.md).</summary>
    public const int PersonalizationEpochs = 3;

    /// <summary>Fine-tuning learning rate, as a share of the run's learning-rate (chosen by measurement: docs/forecast-quality.md).</summary>
    public const double PersonalizationLearningRateShare = 0.2;

    /// <summary>
    /// Validation slices the fine-tuned head must be no worse on, latest first: the last train-test-split share of the
    /// worker's training part, then the same share of the part before it (chosen by measurement: docs/forecast-quality.md).
    /// </summary>
    public const int PersonalizationValidationSlices = 2;

    /// <summary>Origins the picture's full-horizon forecasts start from, spread evenly over the held-out part.</summary>
    private const int PlottedHorizonOrigins = 3;

    public static ExperimentReport Run(ExperimentSettings settings, Action<string> progress, CancellationToken cancellationToken = default)
    {
        var stopwatch = Stopwatch.StartNew();
        var config = settings.Config;
        var series = settings.Series;
        // Every worker must hold one held-out window and its horizon: refused before any training, naming the worker.
        foreach (var (worker, features) in series)
        {
            int firstOrigin = ChronologicalSplit.TrainCount(features.Count, config.TrainTestSplit) + config.TimeStep - 1;
            if (features.Count - config.ForecastHorizon - firstOrigin < 1)
                throw new InsufficientDataException(features.Count, firstOrigin + config.ForecastHorizon + 1,
                    $"worker {worker}: one test window of time-step {config.TimeStep} points followed by forecast-horizon {config.ForecastHorizon} actual points after the train-test-split {config.TrainTestSplit}");
        }

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

        var personalized = series.Select((s, i) => Personalize(global, s.Features, config, Seed(config.Seed, i, config.NumServerRounds + 1), cancellationToken)).ToList();
        progress($"federated+personalized: fine-tuned model kept on {personalized.Count(p => p.Choice.FineTunedKept)} of {series.Count} workers (validation slices of each training part)");

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
        var curves = new List<WorkerCurves>();
        for (int i = 0; i < series.Count; i++)
        {
            var features = series[i].Features;
            var values = features.Target.ToArray();
            var fed = HorizonEvaluation.Evaluate(global, features, config);
            var tuned = HorizonEvaluation.Evaluate(personalized[i].Weights, features, config);
            var own = HorizonEvaluation.Evaluate(local[i], features, config);
            var central = HorizonEvaluation.Evaluate(centralized, features, config);
            var linear = LinearReference(values, config);
            var byStep = new Dictionary<string, double[]>
            {
                [Federated] = fed.ByHorizon.Select(e => e.Rmse).ToArray(),
                [Personalized] = tuned.ByHorizon.Select(e => e.Rmse).ToArray(),
                [Local] = own.ByHorizon.Select(e => e.Rmse).ToArray(),
                [Centralized] = central.ByHorizon.Select(e => e.Rmse).ToArray(),
            };
            if (linear is not null)
                byStep[LinearAr] = linear.Select(e => e.Rmse).ToArray();
            byStep[Persistence] = fed.ByHorizon.Select(e => e.PersistenceRmse).ToArray();
            if (fed.SeasonPeriod is not null)
                byStep[SeasonalNaive] = fed.ByHorizon.Select(e => e.SeasonalRmse!.Value).ToArray();

            var rows = new List<ExperimentRow>();
            foreach (var h in horizons)
            {
                rows.Add(new ExperimentRow(Federated, h, fed.At(h).Rmse, fed.At(h).Mae));
                rows.Add(new ExperimentRow(Personalized, h, tuned.At(h).Rmse, tuned.At(h).Mae));
                rows.Add(new ExperimentRow(Local, h, own.At(h).Rmse, own.At(h).Mae));
                rows.Add(new ExperimentRow(Centralized, h, central.At(h).Rmse, central.At(h).Mae));
                if (linear is not null)
                    rows.Add(new ExperimentRow(LinearAr, h, linear[h - 1].Rmse, linear[h - 1].Mae));
                rows.Add(new ExperimentRow(Persistence, h, fed.At(h).PersistenceRmse, fed.At(h).PersistenceMae));
                if (fed.At(h).SeasonalRmse is { } srmse)
                    rows.Add(new ExperimentRow(SeasonalNaive, h, srmse, fed.At(h).SeasonalMae!.Value));
            }

            perWorker.Add(new WorkerRows(series[i].Worker, values.Length, fed.SeasonPeriod, rows, personalized[i].Choice));
            curves.Add(Curves(series[i].Worker, global, features, config, byStep));
        }

        // Averages over the workers; seasonal naive and linear-ar over those workers that have them.
        var averaged = perWorker.SelectMany(w => w.Rows)
            .GroupBy(r => (r.Model, r.Horizon))
            .Select(g => new ExperimentRow(g.Key.Model, g.Key.Horizon, g.Average(r => r.Rmse), g.Average(r => r.Mae)))
            .OrderBy(r => r.Horizon).ThenBy(r => Order(r.Model))
            .ToList();
        var targets = Targets(perWorker, horizon);
        var personalization = new Dictionary<string, string>
        {
            ["epochs"] = PersonalizationEpochs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["learningRate"] = (config.LearningRate * PersonalizationLearningRateShare).ToString("G4", System.Globalization.CultureInfo.InvariantCulture),
            ["trained"] = "the linear head only",
            ["validationSlices"] = PersonalizationValidationSlices.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["choice"] = "fine-tuned model kept where, on every validation slice, it is no worse than the global one at one step and at the full horizon",
        };
        return new ExperimentReport(averaged, perWorker, targets, RunConfigParser.ToDictionary(config), settings.Data, ServedModel, personalization,
            stopwatch.Elapsed.TotalMilliseconds)
        {
            Curves = curves,
        };
    }

    /// <summary>
    /// The targets, averaged over the workers (each ratio is of the averages; a model missing on a worker, such as
    /// linear-ar on a too-short training part, leaves that worker out of its ratio):
    /// one step: served <= 1.0 x linear-ar, federated <= 1.05 x centralized, federated < local-only;
    /// full horizon: served <= 0.9 x the better (per worker) of persistence and seasonal naive, federated <= 1.1 x centralized;
    /// federated + personalized <= federated (one step and full horizon) on at least 3 of 4 workers (three quarters).
    /// </summary>
    public static IReadOnlyList<ExperimentTarget> Targets(IReadOnlyList<WorkerRows> workers, int horizon)
    {
        static double? Get(WorkerRows w, string model, int h) => w.Rows.FirstOrDefault(r => r.Model == model && r.Horizon == h)?.Rmse;
        double Ratio(string numerator, Func<WorkerRows, double?> denominator, int h)
        {
            var pairs = workers.Select(w => (N: Get(w, numerator, h), D: denominator(w))).Where(p => p.N is not null && p.D is not null).ToList();
            return pairs.Count == 0 ? double.NaN : pairs.Average(p => p.N!.Value) / pairs.Average(p => p.D!.Value);
        }

        var targets = new List<ExperimentTarget>();
        void Add(string name, double value, string comparison, double limit) => targets.Add(new ExperimentTarget(name, value, comparison, limit,
            !double.IsNaN(value) && comparison switch { "<" => value < limit, ">=" => value >= limit, _ => value <= limit }));

        Add($"one step: served ({ServedModel}) / linear-ar", Ratio(ServedModel, w => Get(w, LinearAr, 1), 1), "<=", 1.0);
        Add("one step: federated / centralized", Ratio(Federated, w => Get(w, Centralized, 1), 1), "<=", 1.05);
        Add("one step: federated / local-only", Ratio(Federated, w => Get(w, Local, 1), 1), "<", 1.0);
        Add($"{horizon} steps: served ({ServedModel}) / better of persistence and seasonal-naive",
            Ratio(ServedModel, w => Math.Min(Get(w, Persistence, horizon)!.Value, Get(w, SeasonalNaive, horizon) ?? double.PositiveInfinity), horizon), "<=", 0.9);
        Add($"{horizon} steps: federated / centralized", Ratio(Federated, w => Get(w, Centralized, horizon), horizon), "<=", 1.1);
        int better = workers.Count(w => Get(w, Personalized, 1) <= Get(w, Federated, 1) && Get(w, Personalized, horizon) <= Get(w, Federated, horizon));
        Add($"share of workers where federated+personalized <= federated (one step and {horizon} steps): {better} of {workers.Count}",
            workers.Count == 0 ? double.NaN : (double)better / workers.Count, ">=", 0.75);
        return targets;
    }

    /// <summary>
    /// Personalization of the global model on one worker: its linear head alone (the LSTM stays the federation's) trained
    /// <see cref="PersonalizationEpochs"/> epochs at <see cref="PersonalizationLearningRateShare"/> x learning-rate. The
    /// choice is made on the worker's training part alone, on <see cref="PersonalizationValidationSlices"/> nested slices:
    /// the training part's first train-test-split share fine-tuned and its rest scored with the global model, one step
    /// and full horizon ahead; then the same within that first share. Where the fine-tuned head is no worse at both
    /// horizons on every slice, the worker fine-tunes the same way on its whole training part and keeps that; otherwise
    /// it keeps the global model. The validation figures in the report are the latest slice's. A part too short for a
    /// slice ends the list; with no slice at all the global model is kept.
    /// </summary>
    public static (ModelWeights Weights, PersonalizationChoice Choice) Personalize(
        ModelWeights global, FeatureSeries features, RunConfig config, int seed, CancellationToken cancellationToken)
    {
        var tuning = config with { LocalEpochs = PersonalizationEpochs, LearningRate = config.LearningRate * PersonalizationLearningRateShare, ProximalMu = 0 };
        // Validation slices, latest first: the last train-test-split share of the training part, then the same share of
        // the part before it, and so on (a part too short for a slice ends the list).
        var scores = new List<(HorizonEvaluationResult Global, HorizonEvaluationResult Tuned)>();
        int partCount = features.Count;
        string? shortReason = null;
        for (int slice = 0; slice < PersonalizationValidationSlices; slice++)
        {
            partCount = ChronologicalSplit.TrainCount(partCount, config.TrainTestSplit);
            int count = partCount;
            var part = FeatureSeries.Aligned(features.Metrics, features.Values.Select(v => (IReadOnlyList<float>)v.Take(count).ToArray()).ToList());
            try
            {
                var candidate = LocalTraining.Train(global, part, tuning, seed, headOnly: true, cancellationToken).Weights;
                scores.Add((HorizonEvaluation.Evaluate(global, part, config), HorizonEvaluation.Evaluate(candidate, part, config)));
            }
            catch (InsufficientDataException e)
            {
                shortReason = e.Message;
                break;
            }
        }

        if (scores.Count == 0)
            return (global, new PersonalizationChoice(false, null, null, null, null, $"global kept: no validation slice ({shortReason})"));

        int h = config.ForecastHorizon;
        bool keep = scores.All(sc => sc.Tuned.At(1).Rmse <= sc.Global.At(1).Rmse && sc.Tuned.At(h).Rmse <= sc.Global.At(h).Rmse);
        var (globalScore, tunedScore) = scores[0];
        var choice = new PersonalizationChoice(keep, globalScore.At(1).Rmse, tunedScore.At(1).Rmse, globalScore.At(h).Rmse, tunedScore.At(h).Rmse,
            keep ? $"fine-tuned kept: no worse on the {scores.Count} validation slices" : $"global kept: fine-tuning was worse on one of the {scores.Count} validation slices");
        if (!keep)
            return (global, choice);
        return (LocalTraining.Train(global, features, tuning, seed, headOnly: true, cancellationToken).Weights, choice);
    }

    private static int Order(string model) => model switch
    {
        Federated => 0, Personalized => 1, Local => 2, Centralized => 3, LinearAr => 4, Persistence => 5, _ => 6,
    };

    /// <summary>
    /// The federated forecasts the picture draws: one step ahead from every held-out origin (as <see cref="HorizonEvaluation"/>
    /// forms them), and the full horizon from a few origins spread over the held-out part.
    /// </summary>
    private static WorkerCurves Curves(string worker, ModelWeights weights, FeatureSeries features, RunConfig config, Dictionary<string, double[]> byStep)
    {
        var prepared = PreparedSeries.Prepare(features, config);
        var series = features.Target;
        int timeStep = config.TimeStep, horizon = config.ForecastHorizon;
        int firstOrigin = ChronologicalSplit.TrainCount(series.Count, config.TrainTestSplit) + timeStep - 1;
        int origins = series.Count - horizon - firstOrigin;
        var forecasts = HorizonEvaluation.HeldOutForecasts(weights, features, config, prepared, firstOrigin, origins);

        var oneStep = Enumerable.Range(0, origins).Select(o => (double)prepared.Scaler.Inverse(forecasts[o * horizon])).ToArray();
        int count = Math.Min(PlottedHorizonOrigins, origins);
        var plotted = Enumerable.Range(0, count).Select(k => count == 1 ? 0 : k * (origins - 1) / (count - 1)).Distinct().ToArray();
        var horizonForecasts = plotted
            .Select(o => (IReadOnlyList<double>)Enumerable.Range(0, horizon).Select(h => (double)prepared.Scaler.Inverse(forecasts[o * horizon + h])).ToArray())
            .ToList();
        return new WorkerCurves(worker, series.ToArray(), firstOrigin, oneStep, plotted.Select(o => firstOrigin + o).ToArray(), horizonForecasts, byStep);
    }

    /// <summary>
    /// The least-squares AR(time-step) errors at every step 1..forecast-horizon on the same forecast origins as
    /// <see cref="HorizonEvaluation"/>, fitted on the worker's own training part: a linear model over the same window as
    /// the LSTM, forecasting further steps recursively. Left out (null) where the training part is too short for the fit
    /// (fewer than 2 x time-step + 1 points).
    /// </summary>
    private static List<(double Rmse, double Mae)>? LinearReference(float[] values, RunConfig config)
    {
        int trainCount = ChronologicalSplit.TrainCount(values.Length, config.TrainTestSplit);
        if (trainCount < 2 * config.TimeStep + 1)
            return null;
        var ar = LinearAutoregression.Fit(values[..trainCount], config.TimeStep);
        int horizon = config.ForecastHorizon;
        int firstOrigin = trainCount + config.TimeStep - 1, origins = values.Length - horizon - firstOrigin;
        var squared = new double[horizon];
        var absolute = new double[horizon];
        for (int origin = firstOrigin; origin < firstOrigin + origins; origin++)
        {
            var forecast = ar.Forecast(values, origin, horizon);
            for (int h = 0; h < horizon; h++)
            {
                double error = forecast[h] - values[origin + h + 1];
                squared[h] += error * error;
                absolute[h] += Math.Abs(error);
            }
        }

        return Enumerable.Range(0, horizon).Select(h => (Math.Sqrt(squared[h] / origins), absolute[h] / origins)).ToList();
    }

    private static int Seed(int seed, int worker, int round) => unchecked(seed * 7919 + worker * 104_729 + round * 31);
}
