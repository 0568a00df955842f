using IcosFl.Contracts;

namespace IcosFl.Infrastructure.Tests.Messaging;

/// <summary>One message of every weight-carrying type, each with distinct inline bytes.</summary>
public static class BinaryEnvelopeSamples
{
    public static WeightsPayload Payload(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return new WeightsPayload { Inline = bytes, Length = length, Checksum = $"{seed:x16}" };
    }

    public static object[] EveryWeightCarryingMessage()
    {
        var federation = Guid.Parse("0b7d7c1e-8d0a-4f53-9a64-6b1f1a0f3c11");
        var round = Guid.Parse("5f0e1d2c-3b4a-4968-8776-655443322110");
        var deadline = new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
        return
        [
            new RoundStarted
            {
                FederationId = federation, RoundId = round, Round = 3, WorkerId = "worker-1",
                GlobalWeights = Payload(70_001, 1), RunConfig = RunConfig.Default, Deadline = deadline,
            },
            new EvaluationRequested
            {
                FederationId = federation, RoundId = round, Round = 3, WorkerId = "worker-2", GlobalWeights = Payload(5, 2),
                RunConfig = RunConfig.Default, Deadline = deadline,
            },
            new WeightUpdateSubmitted
            {
                FederationId = federation, RoundId = round, Round = 3, WorkerId = "worker-1", Weights = Payload(1_000_000, 3),
                NumExamples = 412, Metrics = new TrainMetrics(0.125, 2, 830.5),
            },
            new RoundCompleted
            {
                FederationId = federation, RoundId = round, Round = 3, Participants = ["worker-1"], TrainLoss = 0.25, EvalLoss = 0.5,
                Rejected = [new RejectedUpdate("worker-2", "late")], DurationMs = 1234.5, GlobalWeights = Payload(300, 4), ServerState = Payload(0, 5),
            },
            new WeightChunk { TransferId = round, WorkerId = "worker-1", Index = 2, Bytes = Payload(1024 * 1024, 6).Inline! },
            new WeightChunkServed { Key = "icosfl:weights:k", Index = 1, Count = 3, Length = 2_500_000, Bytes = Payload(1024 * 1024, 7).Inline! },
        ];
    }
}
