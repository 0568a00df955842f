using IcosFl.Controller.Status;
using IcosFl.Integration.Tests.Servers;
using Xunit.Abstractions;

namespace IcosFl.Integration.Tests.Deployed;

/// <summary>
/// A controller and three worker processes over the real RabbitMQ and Redis, 5 rounds with
/// min-fit-clients 2: the federation completes with rounds 1..5 each exactly once whatever fails.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class Surviving_node_failures(TestServers servers, ITestOutputHelper output)
{
    /// <summary>Training of about 1 s per round (alone; three workers share 2 cores), so a failure injected on seeing a round start lands inside it.</summary>
    private const string SlowRounds = "num-server-rounds=5 min-fit-clients=2 min-available-clients=2 min-evaluate-clients=2 round-timeout=20 local-epochs=20";
    private static readonly TimeSpan FederationTimeout = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task Should_complete_every_round_once_when_a_worker_is_killed_during_round_2()
    {
        await using var fleet = await DeployedFleet.CreateAsync(servers, output);
        fleet.StartController();
        var workers = new[] { "w1", "w2", "w3" }.ToDictionary(id => id, id => fleet.StartWorker(id));
        await fleet.ReadyAsync("w1", "w2", "w3");
        // Rounds long enough that the kill lands inside round 2 (see the controller test below).
        var id = Guid.Parse(await fleet.RunCliAsync("start", "--run-config", SlowRounds));

        await fleet.WaitForAsync(id, s => s.Phase == "Running" && s.Round == 2, FederationTimeout, "round 2 in progress");
        DeployedFleet.KillHard(workers["w3"]);

        var done = await fleet.WaitForAsync(id, s => s.State == "Completed", FederationTimeout, "completion");
        AssertEachRoundCompletedOnce(done);
        // After the kill, w3 takes part in no later round.
        Assert.All(done.Rounds.Where(r => r.State == "Completed" && r.Round >= 3), r => Assert.DoesNotContain("w3", r.Participants));
        Assert.Contains(done.Workers, w => w.Id == "w3" && !w.Alive);
        output.WriteLine(Cli.Commands.StatusCommand.Describe(done));
    }

    [Fact]
    public async Task Should_resume_from_redis_when_the_controller_is_killed_during_round_3_and_restarted()
    {
        await using var fleet = await DeployedFleet.CreateAsync(servers, output);
        var controller = fleet.StartController();
        foreach (var w in new[] { "w1", "w2", "w3" })
            fleet.StartWorker(w);
        await fleet.ReadyAsync("w1", "w2", "w3");
        // Rounds long enough that the kill lands inside round 3: with quick training a round can complete between
        // the status poll (every 200 ms) and the kill.
        var id = Guid.Parse(await fleet.RunCliAsync("start", "--run-config", SlowRounds));

        await fleet.WaitForAsync(id, s => s.Phase == "Running" && s.Round == 3, FederationTimeout, "round 3 in progress");
        DeployedFleet.KillHard(controller);
        var before = (await fleet.SagaAsync(id))!;
        Assert.Equal(2, before.Rounds.Count(r => r.State == "Completed"));
        fleet.StartController();

        var done = await fleet.WaitForAsync(id, s => s.State == "Completed", FederationTimeout, "completion after the restart");
        AssertEachRoundCompletedOnce(done);
        // Rounds 1 and 2 are the ones completed before the kill, untouched.
        Assert.Equal(before.Rounds.Where(r => r.State == "Completed").Select(r => r.RoundId),
            done.Rounds.Where(r => r.State == "Completed" && r.Round <= 2).Select(r => r.RoundId));
        output.WriteLine(Cli.Commands.StatusCommand.Describe(done));
    }

    [Fact]
    public async Task Should_complete_when_rabbitmq_restarts_during_a_round()
    {
        await using var fleet = await DeployedFleet.CreateAsync(servers, output);
        fleet.StartController();
        foreach (var w in new[] { "w1", "w2", "w3" })
            fleet.StartWorker(w);
        await fleet.ReadyAsync("w1", "w2", "w3");
        // Slow rounds: with local-epochs=2 a round can take 0.3 s, and CI once saw all five finish between two polls.
        var id = Guid.Parse(await fleet.RunCliAsync("start", "--run-config", SlowRounds + " round-retries=5"));

        await fleet.WaitForAsync(id, s => s.Phase == "Running" && s.Round == 2, FederationTimeout, "round 2 in progress");
        await servers.RabbitMq.StopAsync();
        await servers.RabbitMq.StartAsync();

        var done = await fleet.WaitForAsync(id, s => s.State == "Completed", FederationTimeout, "completion after the broker restart");
        output.WriteLine(Cli.Commands.StatusCommand.Describe(done));
        AssertEachRoundCompletedOnce(done);
        // Every worker consumes again once the broker is back, not only sends heartbeats: one that was publishing its
        // update when the broker stopped once stayed deaf for good, and every later round waited for its deadline.
        Assert.All(done.Rounds.Where(r => r.State == "Completed" && r.Round >= 4),
            r => Assert.Equal(["w1", "w2", "w3"], r.Participants.Order()));
    }

    private static void AssertEachRoundCompletedOnce(FederationStatus status)
    {
        var completed = status.Rounds.Where(r => r.State == "Completed").Select(r => r.Round).ToList();
        Assert.Equal([1, 2, 3, 4, 5], completed);
        Assert.All(status.Rounds.Where(r => r.State == "Completed"), r => Assert.InRange(r.Participants.Count, 2, 3));
        Assert.Equal(5, status.Round);
    }
}
