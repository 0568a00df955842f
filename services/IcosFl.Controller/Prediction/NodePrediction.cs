using IcosFl.Controller.Checkpoints;
using IcosFl.Learning;
using IcosFl.Learning.NodeData;
using IcosFl.Learning.Prediction;

namespace IcosFl.Controller.Prediction;

/// <summary>A prediction that cannot be made, naming the request parameter at fault; <see cref="NotFound"/> for what does not exist.</summary>
public sealed class PredictionException(string parameter, string message, bool notFound = false) : Exception(message)
{
    /// <summary>The parameter at fault: federation, checkpoint, model, node, metric, horizon, scaler.</summary>
    public string Parameter { get; } = parameter;

    /// <summary>True when something asked for does not exist (no checkpoint, no such node, no data), false when a value is bad.</summary>
    public bool NotFound { get; } = notFound;
}

/// <summary>How the model's inputs are scaled: the node's own min-max (fitted as the node fits it when it trains) or the model's saved one.</summary>
public static class PredictionScalers
{
    public const string Node = "node";
    public const string Model = "model";
}

/// <summary>A forecast as <c>icosfl predict --json</c> prints it and <c>GET /api/predictions</c> returns it.</summary>
public sealed record PredictionDocument(
    string Model,
    Guid FederationId,
    int Round,
    string Node,
    string Metric,
    int Horizon,
    double StepSeconds,
    DateTimeOffset Origin,
    double LastValue,
    PredictionScaler Scaler,
    IReadOnlyList<string> Inputs,
    IReadOnlyList<PredictionInputScaler> Scalers,
    IReadOnlyList<ForecastPoint> Points);

public sealed record PredictionScaler(float Min, float Max, string FittedOn);

/// <summary>The scaler of one model input (the forecast metric first, then its input-metrics).</summary>
public sealed record PredictionInputScaler(string Metric, float Min, float Max, string FittedOn);

/// <summary>
/// The one path from a checkpoint and a node's stored points to a forecast, shared by <c>icosfl predict</c> and the
/// controller's <c>GET /api/predictions</c>, so both give the same numbers for the same model and data: check the
/// metric and horizon against the model, pick the scaler, run <see cref="Forecaster.ForecastAt"/>.
/// </summary>
public static class NodePrediction
{
    /// <summary>The longest forecast served (100 minutes at 3 s), unless the model's own forecast-horizon is longer.</summary>
    public const int MaxHorizon = 2000;

    /// <summary>A univariate model's forecast from the node's points of its metric.</summary>
    public static PredictionDocument Predict(Checkpoint checkpoint, string model, string node, IReadOnlyList<long> timesUnixMs,
        IReadOnlyList<float> values, string? metric, int? horizon, string? scaler)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var forecastMetric = checkpoint.RunConfig.Metric;
        return Predict(checkpoint, model, node,
            m => m == forecastMetric ? (timesUnixMs, values) : ([], []), metric, horizon, scaler);
    }

    /// <summary>
    /// The forecast of <paramref name="checkpoint"/>'s model from the node's points, read per metric by <paramref name="pointsOf"/>
    /// (the forecast metric, then the model's input-metrics, aligned by timestamp).
    /// </summary>
    public static PredictionDocument Predict(Checkpoint checkpoint, string model, string node,
        Func<string, (IReadOnlyList<long> TimesUnixMs, IReadOnlyList<float> Values)> pointsOf, string? metric, int? horizon, string? scaler)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(pointsOf);
        var config = checkpoint.RunConfig;
        CheckValues(metric, scaler);
        var wanted = metric ?? config.Metric;
        if (wanted != config.Metric)
            throw new PredictionException("metric", $"metric {wanted}: the model forecasts {config.Metric}; a model trained on one metric cannot forecast another");
        int steps = horizon ?? config.ForecastHorizon;
        int longest = Math.Max(MaxHorizon, config.ForecastHorizon);
        if (steps < 1 || steps > longest)
            throw new PredictionException("horizon", $"horizon must be 1 to {longest} steps, got {steps}");
        var chosen = scaler ?? PredictionScalers.Node;

        var inputs = config.InputFeatures();
        var points = inputs.Select(pointsOf).ToList();
        if (points[0].Values.Count == 0)
            throw new PredictionException("node", $"node {node} holds no {config.Metric} points", notFound: true);
        for (int f = 1; f < inputs.Count; f++)
        {
            if (points[f].Values.Count == 0)
                throw new PredictionException("node",
                    $"node {node} holds no {inputs[f]} points, which the model reads as an input ({string.Join(", ", inputs)})", notFound: true);
        }

        NodeForecast forecast;
        string fittedOn;
        try
        {
            var forecaster = ForecastModel.From(checkpoint.Weights, config);
            if (inputs.Count == 1)
            {
                var (times, values) = points[0];
                var single = chosen == PredictionScalers.Node
                    ? NodeScaler(node, values, config.TrainTestSplit)
                    : checkpoint.Scaler?.ToScaler()
                      ?? throw new PredictionException("scaler", "the model has no saved scaler (its controller had no data); use scaler node");
                fittedOn = chosen == PredictionScalers.Node ? $"node {node}, training split" : checkpoint.Scaler!.FittedOn;
                forecast = Forecaster.ForecastAt(forecaster, single, times, values, steps);
            }
            else
            {
                FeatureSeries series;
                try
                {
                    series = FeatureSeries.AlignByTime(inputs, points);
                }
                catch (ArgumentException e)
                {
                    throw new PredictionException("node", $"node {node}: the model's inputs cannot be aligned: {e.Message}", notFound: true);
                }

                var scalers = chosen == PredictionScalers.Node
                    ? Forecaster.NodeScalers(series, config.TrainTestSplit)
                    : checkpoint.SavedScalers(out var why) ?? throw new PredictionException("scaler", $"{why}; use scaler node");
                fittedOn = chosen == PredictionScalers.Node ? $"node {node}, training split" : checkpoint.Scaler!.FittedOn;
                forecast = Forecaster.ForecastAt(forecaster, scalers, series, steps);
            }
        }
        catch (InsufficientDataException e)
        {
            throw new PredictionException("node", $"node {node}, {config.Metric}: not enough data: {e.Message}", notFound: true);
        }
        catch (IncompatibleWeightsException e)
        {
            throw new PredictionException("model", $"the model's weights do not fit its run config: {e.Message}");
        }
        catch (ArgumentException e)
        {
            // The node's points themselves cannot be forecast from (e.g. a value that is not finite).
            throw new PredictionException("node", $"node {node}, {config.Metric}: {e.Message}", notFound: true);
        }

        // A saved scaler says where it was fitted, each its own; the node's are all fitted on its training split.
        string InputFittedOn(int f) =>
            chosen == PredictionScalers.Model && f > 0 && checkpoint.InputScalers is { } saved && f - 1 < saved.Count ? saved[f - 1].FittedOn : fittedOn;

        return new PredictionDocument(model, checkpoint.FederationId, checkpoint.Round, node, config.Metric, steps,
            forecast.StepInterval.TotalSeconds, forecast.Origin, forecast.LastValue,
            new PredictionScaler(forecast.Scaler.Min, forecast.Scaler.Max, fittedOn),
            inputs, forecast.Scalers.Select((s, f) => new PredictionInputScaler(inputs[f], s.Min, s.Max, InputFittedOn(f))).ToList(),
            forecast.Points);
    }

    /// <summary>The request values that can be judged without a model: a known metric name, a scaler choice.</summary>
    public static void CheckValues(string? metric, string? scaler)
    {
        if (metric is not null && !NodeMetrics.All.Contains(metric))
            throw new PredictionException("metric", $"unknown metric '{metric}'; known metrics: {string.Join(", ", NodeMetrics.All)}");
        if (scaler is not null and not (PredictionScalers.Node or PredictionScalers.Model))
            throw new PredictionException("scaler", $"scaler must be '{PredictionScalers.Node}' or '{PredictionScalers.Model}', got '{scaler}'");
    }

    /// <summary>
    /// A node's points of <paramref name="metric"/> with their times: a store's own timestamps; for a source without
    /// timestamps (a synthetic series) the newest point is stamped <paramref name="now"/> and the others 3 s apart before it.
    /// </summary>
    public static (long[] TimesUnixMs, float[] Values) PointsOf(INodeDataSource data, string metric, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data is INodeStore store)
            return store.Points(metric);
        var values = data.GetSeries(metric)?.ToArray() ?? [];
        long newest = now.ToUnixTimeMilliseconds(), step = (long)Forecaster.DefaultStepInterval.TotalMilliseconds;
        return (values.Select((_, i) => newest - (values.Length - 1 - i) * step).ToArray(), values);
    }

    /// <summary>
    /// The federation's checkpoint of that kind; for <see cref="CheckpointKind.Best"/> the latest when there is no best
    /// (no centralized evaluation ran). Null when the federation has no checkpoint.
    /// </summary>
    public static async Task<Checkpoint?> LoadAsync(ICheckpointStore store, Guid federationId, CheckpointKind kind, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var checkpoint = await store.LoadAsync(federationId, kind, cancellationToken);
        if (checkpoint is null && kind == CheckpointKind.Best)
            checkpoint = await store.LoadAsync(federationId, CheckpointKind.Latest, cancellationToken);
        return checkpoint;
    }

    private static MinMaxScaler NodeScaler(string node, IReadOnlyList<float> values, double trainTestSplit)
    {
        try
        {
            return Forecaster.NodeScaler(values, trainTestSplit);
        }
        catch (InsufficientDataException e)
        {
            throw new PredictionException("node", $"node {node}: not enough data to fit its scaler: {e.Message}", notFound: true);
        }
    }
}
