namespace IcosFl.Contracts;

/// <summary>
/// Forecast error on held-out data, in the metric's own units, beside the same errors of a naive
/// persistence forecast (next value = last value).
/// </summary>
public sealed record EvaluationMetrics(
    int NumExamples,
    double Mse,
    double Rmse,
    double Mae,
    double PersistenceMse,
    double PersistenceRmse,
    double PersistenceMae);
