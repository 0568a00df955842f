namespace IcosFl.Contracts;

/// <summary>What a worker reports about its local training.</summary>
/// <param name="Loss">Mean training loss (MSE on scaled values) of the last local epoch.</param>
/// <param name="Epochs">Local epochs run.</param>
/// <param name="DurationMs">Wall time of local training.</param>
public sealed record TrainMetrics(double Loss, int Epochs, double DurationMs);
