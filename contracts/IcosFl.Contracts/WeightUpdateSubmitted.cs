namespace IcosFl.Contracts;

/// <summary>Event: a worker finished local training and submits its updated weights.</summary>
public sealed record WeightUpdateSubmitted
{
    public required Guid FederationId { get; init; }
    public required Guid RoundId { get; init; }
    public required int Round { get; init; }
    public required string WorkerId { get; init; }
    public required WeightsPayload Weights { get; init; }
    /// <summary>Number of training windows the update was trained on (the FedAvg weight).</summary>
    public required int NumExamples { get; init; }
    public required TrainMetrics Metrics { get; init; }
}
