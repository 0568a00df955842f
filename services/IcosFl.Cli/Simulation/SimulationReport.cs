using System.Text.Json;
using System.Text.Json.Serialization;
using IcosFl.Contracts;

namespace IcosFl.Cli.Simulation;

/// <summary>The outcome of a simulated federation, as printed by <c>icosfl simulate --json</c>.</summary>
public sealed record SimulationReport
{
    public required Guid FederationId { get; init; }
    public required string Metric { get; init; }
    /// <summary>Where the data came from ("synthetic": made up per worker by SyntheticFleet).</summary>
    public required string Data { get; init; }
    public required int Workers { get; init; }
    public required string Strategy { get; init; }
    /// <summary>Simulated adversaries by worker id, as given to --adversary ("scale:100", "sign-flip", "nan"); empty when all are honest.</summary>
    public IReadOnlyDictionary<string, string> Adversaries { get; init; } = new Dictionary<string, string>();
    public required string State { get; init; }
    public string? Reason { get; init; }
    public required IReadOnlyList<SimulatedRound> Rounds { get; init; }
    public FinalEvaluation? Final { get; init; }
    public required double DurationMs { get; init; }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);
}

public sealed record SimulatedRound(
    int Round,
    int Participants,
    double TrainLoss,
    double? EvalLoss,
    double? CentralizedRmse,
    double DurationMs,
    IReadOnlyList<RejectedUpdate> Rejected);

/// <summary>The final global model evaluated on the controller's own (held-out) data, in the metric's units.</summary>
public sealed record FinalEvaluation(double Mse, double Rmse, double Mae, double PersistenceRmse);
