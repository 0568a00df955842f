using IcosFl.Contracts;
using IcosFl.Learning;

namespace IcosFl.Controller.Checkpoints;

/// <summary>Which of a federation's checkpoints: the last aggregated round, or the round the controller evaluated best.</summary>
public enum CheckpointKind
{
    Latest,
    Best,
}

/// <summary>
/// A federation's global model after one round, with what is needed to use it or to continue from it: the run
/// config (architecture, window, metric), the controller's scaler, the strategy's server state and the round's metrics.
/// </summary>
public sealed record Checkpoint
{
    public required Guid FederationId { get; init; }
    public required int Round { get; init; }
    public int Attempt { get; init; } = 1;
    public required RunConfig RunConfig { get; init; }
    public required ModelWeights Weights { get; init; }
    /// <summary>The strategy's server-side state (momentum, Adam moments), if it keeps one; a resumed federation carries it on.</summary>
    public ModelWeights? ServerState { get; init; }
    /// <summary>The controller's scaler for its own data of the forecast metric; null when the controller had no data of the metric.</summary>
    public ScalerParameters? Scaler { get; init; }
    /// <summary>
    /// The controller's scalers of the input-metrics, in their order (each naming its metric); null for a univariate model
    /// or when the controller lacked one of them.
    /// </summary>
    public IReadOnlyList<ScalerParameters>? InputScalers { get; init; }
    public required CheckpointMetrics Metrics { get; init; }

    /// <summary>
    /// Every input feature's saved scaler in model-input order (the forecast metric's, then each input metric's), or null
    /// with the reason when one is missing.
    /// </summary>
    public IReadOnlyList<MinMaxScaler>? SavedScalers(out string? missing)
    {
        var inputs = RunConfig.ExtraInputMetrics();
        if (Scaler is null)
        {
            missing = "the model has no saved scaler (its controller had no data)";
            return null;
        }

        var extra = InputScalers ?? [];
        if (!extra.Select(s => s.Metric).SequenceEqual(inputs))
        {
            missing = $"the model reads input metrics [{string.Join(", ", inputs)}] but saved scalers for [{string.Join(", ", extra.Select(s => s.Metric))}]";
            return null;
        }

        missing = null;
        return [Scaler.ToScaler(), .. extra.Select(s => s.ToScaler())];
    }

    /// <summary>
    /// Whether <paramref name="candidate"/> becomes the best checkpoint: it has a centralized MSE and there is no best yet,
    /// or the best has none, or it is not worse (ties go to the later round), or the best is an earlier attempt of the
    /// same round (superseded by this one).
    /// </summary>
    public static bool ReplacesBest(Checkpoint? best, Checkpoint candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        if (candidate.Metrics.Centralized is not { } mine)
            return false;
        if (best is null || best.Round == candidate.Round || best.Metrics.Centralized is not { } theirs)
            return true;
        return mine.Mse <= theirs.Mse;
    }
}

/// <summary>
/// Min-max scaler parameters and what they were fitted on. Each node scales with its own scaler, fitted on its own
/// training split; this one is the controller's, for the controller node's data.
/// </summary>
public sealed record ScalerParameters(string Kind, float Min, float Max, string FittedOn, int Points)
{
    public const string MinMax = "minmax";

    /// <summary>The metric whose values this scales (null in checkpoints written before models had input metrics).</summary>
    public string? Metric { get; init; }

    public static ScalerParameters From(MinMaxScaler scaler, string fittedOn, int points) => new(MinMax, scaler.Min, scaler.Max, fittedOn, points);

    public MinMaxScaler ToScaler() => Kind == MinMax
        ? new MinMaxScaler(Min, Max)
        : throw new InvalidDataException($"scaler kind '{Kind}' is not known; IcosFl uses '{MinMax}'");
}

/// <summary>A round's numbers: training loss, the controller's centralized evaluation (or why there is none), who took part.</summary>
public sealed record CheckpointMetrics(
    double TrainLoss,
    EvaluationMetrics? Centralized,
    string? CentralizedSkipped,
    IReadOnlyList<string> Participants);
