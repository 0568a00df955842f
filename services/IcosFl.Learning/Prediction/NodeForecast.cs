namespace IcosFl.Learning.Prediction;

/// <summary>One forecast value: the time it is for, steps ahead of the last observed point, and the value in the metric's units.</summary>
public sealed record ForecastPoint(int Step, DateTimeOffset Time, double Value);

/// <summary>
/// A forecast from a node's latest observed point (<see cref="Origin"/>, <see cref="LastValue"/>) onwards;
/// <see cref="Scaler"/> is the forecast metric's.
/// </summary>
public sealed record NodeForecast(DateTimeOffset Origin, double LastValue, TimeSpan StepInterval, MinMaxScaler Scaler, IReadOnlyList<ForecastPoint> Points)
{
    /// <summary>Every input feature's scaler, the forecast metric's first (just <see cref="Scaler"/> for a univariate model).</summary>
    public IReadOnlyList<MinMaxScaler> Scalers { get; init; } = [Scaler];
}
