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

/// <summary>
/// The final global model evaluated on the controller's own (held-out) data, in the metric's units, one step ahead; beside
/// persistence and a least-squares AR(time-step) line fitted on the controller's training part (null where that part is
/// too short for the fit), on the same windows.
/// </summary>
public sealed record FinalEvaluation(double Mse, double Rmse, double Mae, double PersistenceRmse, double? LinearArRmse = null)
{
    /// <summary>"global model RMSE 0.0687 on the controller's held-out cpu_usage: 4.8% below persistence (0.07215), ...".</summary>
    public string Describe(string metric)
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        static string Versus(double model, double baseline, string name, IFormatProvider c) =>
            string.Create(c, $"{Math.Abs(1 - model / baseline) * 100:F1}% {(model <= baseline ? "below" : "above")} {name} ({baseline:G4})");
        return string.Create(c, $"global model RMSE {Rmse:G4} on the controller's held-out {metric}, one step ahead: ") +
               Versus(Rmse, PersistenceRmse, "persistence", c) +
               (LinearArRmse is { } linear ? ", " + Versus(Rmse, linear, "linear-ar", c) : ", linear-ar n/a (training part too short)");
    }
}
