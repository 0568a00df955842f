using IcosFl.Contracts;

namespace IcosFl.Learning;

/// <summary>
/// One node's local training: the new weights, the number of training windows (the FedAvg weight), the mean
/// training MSE of the last epoch on scaled values, the epochs run and the wall time.
/// </summary>
public sealed record TrainResult(ModelWeights Weights, int NumExamples, double Loss, int Epochs, double DurationMs);
