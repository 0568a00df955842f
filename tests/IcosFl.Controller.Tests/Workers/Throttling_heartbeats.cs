using IcosFl.Controller.Workers;

namespace IcosFl.Controller.Tests.Workers;

/// <summary>The controller records at most one heartbeat per worker per minimum gap, and says how many it dropped.</summary>
public sealed class Throttling_heartbeats
{
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Should_record_one_heartbeat_per_gap_and_each_worker_apart()
    {
        var clock = new FakeTimeProvider(Start);
        var throttle = new HeartbeatThrottle(new ControllerOptions { HeartbeatMinimumGap = TimeSpan.FromMilliseconds(250) }, clock);

        Assert.True(throttle.TryAccept("w1", out _));
        Assert.True(throttle.TryAccept("w2", out _));
        clock.Advance(TimeSpan.FromMilliseconds(249));
        Assert.False(throttle.TryAccept("w1", out var dropped));
        Assert.Equal(0, dropped);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(throttle.TryAccept("w1", out _));
        Assert.True(throttle.TryAccept("w2", out _));
    }

    [Fact]
    public void Should_count_the_dropped_ones_once_a_minute()
    {
        var clock = new FakeTimeProvider(Start);
        var throttle = new HeartbeatThrottle(new ControllerOptions { HeartbeatMinimumGap = TimeSpan.FromSeconds(1) }, clock);
        Assert.True(throttle.TryAccept("flooder", out _));

        var reports = new List<int>();
        // 100 per second for 130 s: one recorded per second, the rest dropped and reported at most once a minute.
        int recorded = 1;
        for (int i = 1; i <= 13_000; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(10));
            if (throttle.TryAccept("flooder", out var dropped))
                recorded++;
            else if (dropped > 0)
                reports.Add(dropped);
        }

        Assert.Equal(131, recorded);
        Assert.Equal(2, reports.Count);
        // The first report comes with the first drop a minute after the start (at 60.01 s, itself counted), the second
        // a minute after that; together they are every drop up to 120.01 s.
        Assert.Equal([(60 * 99) + 1, 60 * 99], reports);
    }

    [Fact]
    public void Should_record_every_heartbeat_when_the_gap_is_zero()
    {
        var throttle = new HeartbeatThrottle(new ControllerOptions { HeartbeatMinimumGap = TimeSpan.Zero }, new FakeTimeProvider(Start));
        Assert.All(Enumerable.Range(0, 10), _ => Assert.True(throttle.TryAccept("w1", out _)));
    }
}
