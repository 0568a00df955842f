using IcosFl.Controller;
using IcosFl.Controller.Checkpoints;
using IcosFl.Controller.Prediction;
using IcosFl.Controller.Sagas;
using IcosFl.Controller.Status;
using IcosFl.Learning.NodeData;
using IcosFl.Learning.Prediction;

namespace IcosFl.Dashboard;

/// <summary>
/// What a federation's page shows of its forecast quality: <c>GET /api/federations/{id}/evaluations</c>, each completed
/// round's centralized RMSE against persistence (and the workers' own evaluations), read from the sagas; and
/// <c>GET /api/federations/{id}/forecast</c>, per node whose data this process holds, its recent actual series and the
/// federation's latest global model's forecast from an origin a horizon before the end of it, so the two overlap.
/// The forecast is <see cref="NodePrediction.Predict"/>'s, the same as <c>GET /api/predictions</c> and <c>icosfl predict</c>.
/// </summary>
public sealed class ForecastApi(
    ISagaReader sagas,
    ControllerOptions controller,
    TimeProvider clock,
    IEnumerable<IHeldNodeData> held,
    ICheckpointStore? checkpoints = null,
    INodeDataSource? ownData = null)
{
    /// <summary>The most actual points a node's series is shown with.</summary>
    public const int MaxPoints = 10_000;

    /// <summary>The federation's completed rounds with their evaluations; null when there is no such federation.</summary>
    public async Task<FederationEvaluations?> EvaluationsAsync(Guid federationId)
    {
        if (await sagas.FederationAsync(federationId) is not { } saga)
            return null;
        var rounds = new List<RoundEvaluation>();
        foreach (var r in saga.Rounds.Where(r => r.State == "Completed"))
        {
            var round = await sagas.RoundAsync(r.RoundId);
            var workers = (round?.Evaluations ?? [])
                .OrderBy(e => e.WorkerId, StringComparer.Ordinal)
                .Select(e => new WorkerEvaluation(e.WorkerId, e.Metrics?.NumExamples, e.Metrics?.Rmse, e.Metrics?.PersistenceRmse, e.DeclinedReason))
                .ToList();
            var eval = r.CentralizedEval;
            rounds.Add(new RoundEvaluation(r.Round, r.Attempt, r.RoundId, eval?.NumExamples, eval?.Rmse, eval?.Mae,
                eval?.PersistenceRmse, eval?.PersistenceMae, r.TrainLoss, r.EvalLoss, workers));
        }

        return new FederationEvaluations(saga.CorrelationId, saga.RunConfig.Metric, rounds);
    }

    /// <summary>
    /// Per held node, the last <paramref name="points"/> actual points (default twice the horizon) and the latest checkpoint's
    /// forecast over its horizon from the point a horizon before the end; null when there is no such federation.
    /// </summary>
    public async Task<FederationForecast?> ForecastAsync(Guid federationId, int? points, CancellationToken cancellationToken)
    {
        if (await sagas.FederationAsync(federationId) is not { } saga)
            return null;
        var checkpoint = checkpoints is null ? null : await NodePrediction.LoadAsync(checkpoints, federationId, CheckpointKind.Latest, cancellationToken);
        var config = checkpoint?.RunConfig ?? saga.RunConfig;
        int horizon = config.ForecastHorizon;
        int shown = Math.Clamp(points ?? 2 * horizon, 1, MaxPoints);
        string? reason = checkpoints is null
            ? "this process keeps no checkpoints"
            : checkpoint is null
                ? $"federation {federationId} has no checkpoint yet: no round has completed"
                : null;

        var now = clock.GetUtcNow();
        var nodes = new List<HeldNodeForecast>();
        foreach (var node in Nodes())
        {
            var (times, values) = NodePrediction.PointsOf(node.Data, config.Metric, now);
            int first = Math.Max(0, values.Length - shown);
            var actual = Enumerable.Range(first, values.Length - first)
                .Select(i => new SeriesPoint(DateTimeOffset.FromUnixTimeMilliseconds(times[i]), values[i]))
                .ToList();
            if (checkpoint is null)
            {
                nodes.Add(new HeldNodeForecast(node.Node, node.Role, actual, null, [], reason));
                continue;
            }
            if (values.Length <= horizon)
            {
                nodes.Add(new HeldNodeForecast(node.Node, node.Role, actual, null, [],
                    $"node {node.Node} holds {values.Length} {config.Metric} points; a forecast from a horizon ({horizon}) before the end needs more"));
                continue;
            }

            // The origin: the point a horizon before the newest, so the forecast's steps fall on observed points.
            long cutoff = times[values.Length - 1 - horizon];
            try
            {
                var forecast = NodePrediction.Predict(checkpoint, $"federation {federationId}", node.Node,
                    metric => Upto(NodePrediction.PointsOf(node.Data, metric, now), cutoff), config.Metric, horizon, PredictionScalers.Node);
                nodes.Add(new HeldNodeForecast(node.Node, node.Role, actual, forecast.Origin, forecast.Points, null));
            }
            catch (PredictionException e)
            {
                nodes.Add(new HeldNodeForecast(node.Node, node.Role, actual, null, [], e.Message));
            }
        }

        return new FederationForecast(federationId, config.Metric, checkpoint?.Round, horizon,
            Forecaster.DefaultStepInterval.TotalSeconds, reason, nodes);
    }

    /// <summary>The controller's own node first, then what the host holds besides (the simulation's workers), by name.</summary>
    private IEnumerable<HeldNode> Nodes()
    {
        if (ownData is not null)
            yield return new HeldNode(controller.NodeName, HeldNode.ControllerRole, ownData);
        foreach (var node in held.SelectMany(h => h.Nodes).OrderBy(n => n.Node, StringComparer.Ordinal))
            yield return node;
    }

    private static (IReadOnlyList<long>, IReadOnlyList<float>) Upto((long[] Times, float[] Values) points, long cutoff)
    {
        int count = 0;
        while (count < points.Times.Length && points.Times[count] <= cutoff)
            count++;
        return (points.Times[..count], points.Values[..count]);
    }
}

/// <summary><c>GET /api/federations/{id}/evaluations</c>: the federation's completed rounds, oldest first.</summary>
public sealed record FederationEvaluations(Guid FederationId, string Metric, IReadOnlyList<RoundEvaluation> Rounds);

/// <summary>
/// One completed round: the centralized evaluation of its new global model on the controller's data (null without
/// controller data), its persistence baseline on the same windows, the losses, and each evaluating worker's report.
/// </summary>
public sealed record RoundEvaluation(
    int Round,
    int Attempt,
    Guid RoundId,
    int? NumExamples,
    double? Rmse,
    double? Mae,
    double? PersistenceRmse,
    double? PersistenceMae,
    double? TrainLoss,
    double? EvalLoss,
    IReadOnlyList<WorkerEvaluation> Workers);

/// <summary>A worker's federated evaluation of a round's global model on its own test split, or why it declined.</summary>
public sealed record WorkerEvaluation(string WorkerId, int? NumExamples, double? Rmse, double? PersistenceRmse, string? DeclinedReason);

/// <summary>
/// <c>GET /api/federations/{id}/forecast</c>: the latest checkpoint's round (null without one), its horizon and step, why
/// there is no forecast at all (null when there is one), and each held node's series and forecast.
/// </summary>
public sealed record FederationForecast(
    Guid FederationId,
    string Metric,
    int? Round,
    int Horizon,
    double StepSeconds,
    string? Reason,
    IReadOnlyList<HeldNodeForecast> Nodes);

/// <summary>
/// One node: its last actual points, and the forecast from <see cref="Origin"/> (the actual point a horizon before the
/// newest) over the horizon; empty with <see cref="Reason"/> when it cannot be made.
/// </summary>
public sealed record HeldNodeForecast(
    string Node,
    string Role,
    IReadOnlyList<SeriesPoint> Actual,
    DateTimeOffset? Origin,
    IReadOnlyList<ForecastPoint> Forecast,
    string? Reason);

public sealed record SeriesPoint(DateTimeOffset Time, double Value);
