using IcosFl.Cli.Commands;
using IcosFl.Contracts;
using IcosFl.Controller.Status;

namespace IcosFl.Cli.Tests;

/// <summary>`icosfl status ID --watch` with stdout not a terminal: one line per change, nothing repeated.</summary>
public sealed class Watching_status_as_plain_lines
{
    private static readonly Guid Id = Guid.Parse("7d0c2d4e-3b1a-4f7e-9a51-0c6e2d9b8f10");
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 3, 0, 0, TimeSpan.Zero);

    private static WorkerStatus Worker(string id, bool alive) => new(id, "edge", alive, T0, new Dictionary<string, int> { ["cpu_usage"] = 100 });

    private static RoundStatus Round(int round, string state, Guid roundId, double? train = null, double? eval = null,
        string? reason = null, int attempt = 1, params RejectedUpdate[] rejected) =>
        new(round, attempt, roundId, state, state == "Completed" ? ["edge-1", "edge-2"] : ["edge-1"], train, eval, null,
            state == "Completed" ? 1234.4 : null, reason, rejected);

    private static FederationStatus Status(string state, string phase, IReadOnlyList<RoundStatus> rounds, IReadOnlyList<WorkerStatus> workers,
        string? reason = null) =>
        new(Id, state, phase, rounds.Count, 3, "cpu_usage", "fedavg", rounds, workers, reason, T0, T0);

    [Fact]
    public void Should_introduce_the_federation_and_list_what_already_happened()
    {
        var r1 = Guid.NewGuid();
        var first = Status("Running", "Running", [Round(1, "Completed", r1, 0.5, 0.25)], [Worker("edge-1", true)]);

        Assert.Equal(
        [
            "federation 7d0c2d4e-3b1a-4f7e-9a51-0c6e2d9b8f10: Running (Running), 3 rounds of fedavg on cpu_usage",
            "round 1/3 completed: 2 participants, train loss 0.5, eval loss 0.25, 1234 ms",
        ], StatusWatch.Changes(null, first));
    }

    [Fact]
    public void Should_print_each_round_once_when_it_ends_and_each_worker_change()
    {
        var (r1, r2, r3) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var before = Status("Running", "Running", [Round(1, "Completed", r1, 0.5, 0.25), Round(2, "Collecting", r2)],
            [Worker("edge-1", true), Worker("edge-2", true)]);
        var after = Status("Running", "Running",
            [Round(1, "Completed", r1, 0.5, 0.25), Round(2, "Failed", r2, reason: "1 update by the deadline, min-fit-clients 2"),
             Round(2, "Completed", r3, 0.125, null, attempt: 2, rejected: new RejectedUpdate("edge-3", "offline"))],
            [Worker("edge-1", true), Worker("edge-2", false), Worker("edge-3", true)]);

        Assert.Equal(
        [
            "round 2/3 attempt 1 failed: 1 update by the deadline, min-fit-clients 2",
            "round 2/3 completed: 2 participants, train loss 0.125, rejected: edge-3: offline, 1234 ms",
            "worker edge-2 offline, last heartbeat 2026-11-28T03:00:00.0000000+00:00",
            "worker edge-3 joined (alive)",
        ], StatusWatch.Changes(before, after));
        Assert.Empty(StatusWatch.Changes(after, after));
    }

    [Fact]
    public void Should_end_with_how_the_federation_ended()
    {
        var r1 = Guid.NewGuid();
        var running = Status("Running", "WaitingForQuorum", [], [Worker("edge-1", true)]);
        var failed = Status("Failed", "Failed", [Round(1, "Failed", r1, reason: "no quorum")], [Worker("edge-1", true)],
            reason: "round 1 failed 4 times");

        Assert.Equal(
        [
            "round 1/3 attempt 1 failed: no quorum",
            "federation failed: round 1 failed 4 times",
        ], StatusWatch.Changes(running, failed));
    }
}
