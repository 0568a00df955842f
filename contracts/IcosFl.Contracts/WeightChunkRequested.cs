namespace IcosFl.Contracts;

/// <summary>
/// Request: a worker asks the controller for chunk <see cref="Index"/> of a global model it was sent by reference
/// (<see cref="RoundStarted.GlobalWeights"/> or <see cref="EvaluationRequested.GlobalWeights"/>); answered with
/// <see cref="WeightChunkServed"/> on the worker's own bus queue.
/// </summary>
public sealed record WeightChunkRequested
{
    public required string WorkerId { get; init; }
    /// <summary>The claim-check key the round start or evaluation request named.</summary>
    public required string Key { get; init; }
    public required int Index { get; init; }
}
