using IcosFl.Contracts;
using IcosFl.Controller.Workers;
using IcosFl.Learning;

namespace IcosFl.Controller.Tests.Workers;

public sealed class Judging_worker_readiness
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeSeconds(1_795_860_000);
    private static readonly RunConfig Config = RunConfig.Default with { MinAvailableClients = 2, MinFitClients = 2 };

    private static WorkerInfo Worker(string id, int cpu, DateTimeOffset at, bool stopped = false) =>
        new(id, "test", at, 3, new Dictionary<string, int> { [Metrics.CpuUsage] = cpu }, stopped);

    [Fact]
    public void Should_need_what_the_worker_itself_needs_before_training()
    {
        var config = RunConfig.Default with { TimeStep = 5, ForecastHorizon = 20 };
        Assert.Equal(LocalTraining.MinimumPoints(config) + 20, SeriesChecks.PointsNeeded(config));
        Assert.False(WorkerReadiness.IsReady(Worker("w1", SeriesChecks.PointsNeeded(config) - 1, T0), config));
        Assert.True(WorkerReadiness.IsReady(Worker("w1", SeriesChecks.PointsNeeded(config), T0), config));
    }

    [Fact]
    public void Should_name_at_most_ten_workers_of_a_large_fleet_and_count_the_rest()
    {
        var config = RunConfig.Default with { MinAvailableClients = 30, MinFitClients = 30 };
        var fleet = Enumerable.Range(1, 40).Select(i => Worker($"w{i:00}", i <= 15 ? 151 : 5, T0)).ToList();

        var quorum = WorkerReadiness.Assess(fleet, config, T0, 2, new Dictionary<string, PointsSeen>());

        Assert.Equal(15, quorum.Ready.Count);
        Assert.StartsWith("waiting for 30 workers with >= 151 cpu_usage points: 15 of 40 alive ready (w01, w02, w03, w04, w05, w06, w07, w08, w09, w10 and 5 more); " +
                          "w16 has 5 (growth not measured yet: needs a second heartbeat); ", quorum.Waiting);
        Assert.EndsWith("w25 has 5 (growth not measured yet: needs a second heartbeat); 15 more not ready", quorum.Waiting);
    }

    [Fact]
    public void Should_tell_when_a_growing_worker_will_be_ready_from_two_heartbeats()
    {
        var seen = new Dictionary<string, PointsSeen>();
        var first = WorkerReadiness.Assess([Worker("w1", 5, T0), Worker("w2", 151, T0)], Config, T0, 2, seen);
        Assert.Equal("waiting for 2 workers with >= 151 cpu_usage points: 1 of 2 alive ready (w2); " +
                     "w1 has 5 (growth not measured yet: needs a second heartbeat)", first.Waiting);
        Assert.Equal(["w2"], first.Ready);

        var later = WorkerReadiness.Assess([Worker("w1", 11, T0.AddSeconds(18)), Worker("w2", 157, T0.AddSeconds(18))],
            Config, T0.AddSeconds(18), 2, seen);
        Assert.Equal("waiting for 2 workers with >= 151 cpu_usage points: 1 of 2 alive ready (w2); " +
                     "w1 has 11 (ready in ~7 min at one point every 3 s)", later.Waiting);
    }

    [Fact]
    public void Should_say_a_worker_whose_points_do_not_grow_is_not_growing_and_count_missing_live_workers()
    {
        var seen = new Dictionary<string, PointsSeen>();
        WorkerReadiness.Assess([Worker("w1", 40, T0)], Config with { MinAvailableClients = 3 }, T0, 2, seen);
        var quorum = WorkerReadiness.Assess([Worker("w1", 40, T0.AddSeconds(5)), Worker("w9", 900, T0.AddSeconds(5), stopped: true)],
            Config with { MinAvailableClients = 3 }, T0.AddSeconds(5), 2, seen);
        Assert.Equal("waiting for 3 workers with >= 151 cpu_usage points: 0 of 1 alive ready; w1 has 40 (not growing: 40 for 5 s); " +
                     "2 more live workers needed at least", quorum.Waiting);
        Assert.Empty(quorum.Ready);
    }

    [Fact]
    public void Should_measure_growth_again_from_a_worker_whose_points_fell()
    {
        var seen = new Dictionary<string, PointsSeen>();
        WorkerReadiness.Assess([Worker("w1", 100, T0)], Config, T0, 2, seen);
        // Restarted with an empty store: the old count says nothing about the new growth.
        var quorum = WorkerReadiness.Assess([Worker("w1", 2, T0.AddSeconds(30))], Config, T0.AddSeconds(30), 2, seen);
        Assert.Contains("w1 has 2 (growth not measured yet", quorum.Waiting);
        Assert.Equal(new PointsSeen(T0.AddSeconds(30), 2), seen["w1"]);
    }

    [Fact]
    public void Should_not_wait_when_enough_workers_are_ready()
    {
        var quorum = WorkerReadiness.Assess([Worker("w1", 151, T0), Worker("w2", 500, T0), Worker("w3", 3, T0)], Config, T0, 2,
            new Dictionary<string, PointsSeen>());
        Assert.Null(quorum.Waiting);
        Assert.Equal(["w1", "w2"], quorum.Ready);
        Assert.Equal(["w1", "w2", "w3"], quorum.Alive);
    }
}
