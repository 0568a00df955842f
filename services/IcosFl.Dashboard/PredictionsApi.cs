using System.Globalization;
using IcosFl.Controller;
using IcosFl.Controller.Checkpoints;
using IcosFl.Controller.Prediction;
using IcosFl.Controller.Status;
using IcosFl.Learning.NodeData;
using Microsoft.AspNetCore.Http;

namespace IcosFl.Dashboard;

/// <summary>
/// <c>GET /api/predictions?node=&amp;metric=&amp;horizon=&amp;federation=&amp;checkpoint=&amp;scaler=</c>: the forecast
/// <c>icosfl predict --json</c> prints, computed by the same <see cref="NodePrediction.Predict"/>, from a federation's
/// checkpoint and the controller's own node data (worker data never leaves the workers, so no other node can be
/// forecast here). Bad values answer 400, missing things 404, as RFC 7807 problem documents naming the parameter.
/// </summary>
public sealed class PredictionsApi(
    ControllerOptions controller,
    FederationStatusReader federations,
    TimeProvider clock,
    ICheckpointStore? checkpoints = null,
    INodeDataSource? ownData = null)
{
    public async Task<IResult> GetAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return Results.Ok(await PredictAsync(request.Query, cancellationToken));
        }
        catch (PredictionException e)
        {
            return Results.Problem(
                title: e.NotFound ? "Not found" : "Bad request parameter",
                detail: e.Message,
                statusCode: e.NotFound ? StatusCodes.Status404NotFound : StatusCodes.Status400BadRequest,
                extensions: new Dictionary<string, object?> { ["parameter"] = e.Parameter });
        }
    }

    private async Task<PredictionDocument> PredictAsync(IQueryCollection query, CancellationToken cancellationToken)
    {
        var node = Single(query, "node") ?? controller.NodeName;
        if (node != controller.NodeName)
            throw new PredictionException("node",
                $"node '{node}' is not this controller's node; the controller holds only its own node's data ('{controller.NodeName}'): " +
                "forecast a worker's data on that worker with icosfl predict --node NAME", notFound: true);
        if (ownData is null)
            throw new PredictionException("node", $"the controller's node '{node}' has no data source", notFound: true);

        int? horizon = null;
        if (Single(query, "horizon") is { } horizonText)
            horizon = int.TryParse(horizonText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var h)
                ? h
                : throw new PredictionException("horizon", $"horizon must be a whole number of steps, got '{horizonText}'");
        // What can be judged without the model is judged first, so a bad value is a 400 naming it, whatever else is missing.
        NodePrediction.CheckValues(Single(query, "metric"), Single(query, "scaler"));
        var kind = (Single(query, "checkpoint") ?? "best") switch
        {
            "best" => CheckpointKind.Best,
            "latest" => CheckpointKind.Latest,
            var other => throw new PredictionException("checkpoint", $"checkpoint must be 'best' or 'latest', got '{other}'"),
        };
        if (checkpoints is null)
            throw new PredictionException("federation", "this controller keeps no checkpoints", notFound: true);

        var (checkpoint, federationId) = Single(query, "federation") is { } federationText
            ? await ChosenAsync(federationText, kind, cancellationToken)
            : await MostRecentAsync(kind, cancellationToken);
        var metric = Single(query, "metric");
        var now = clock.GetUtcNow();
        return NodePrediction.Predict(checkpoint, $"federation {federationId}", node,
            m => NodePrediction.PointsOf(ownData, m, now), metric, horizon, Single(query, "scaler"));
    }

    private async Task<(Checkpoint, Guid)> ChosenAsync(string text, CheckpointKind kind, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(text, out var id))
            throw new PredictionException("federation", $"federation '{text}' is not a federation id (a GUID)");
        return (await NodePrediction.LoadAsync(checkpoints!, id, kind, cancellationToken)
                ?? throw new PredictionException("federation", $"no checkpoint of federation {id} in {checkpoints!.Describe(id)}", notFound: true), id);
    }

    /// <summary>The most recently created federation that has a checkpoint.</summary>
    private async Task<(Checkpoint, Guid)> MostRecentAsync(CheckpointKind kind, CancellationToken cancellationToken)
    {
        foreach (var federation in (await federations.ListAsync()).OrderByDescending(f => f.CreatedAt))
        {
            if (await NodePrediction.LoadAsync(checkpoints!, federation.FederationId, kind, cancellationToken) is { } checkpoint)
                return (checkpoint, federation.FederationId);
        }

        throw new PredictionException("federation", "no federation of this controller has a checkpoint yet; run one, or pass federation=ID", notFound: true);
    }

    private static string? Single(IQueryCollection query, string name)
    {
        if (!query.TryGetValue(name, out var values) || values.Count == 0)
            return null;
        if (values.Count > 1)
            throw new PredictionException(name, $"{name} is given {values.Count} times; give it once");
        return string.IsNullOrWhiteSpace(values[0]) ? throw new PredictionException(name, $"{name} is empty") : values[0];
    }
}
