using System.Collections.Concurrent;
using System.Diagnostics;

namespace IcosFl.Benchmarks;

/// <summary>
/// Where a suite's time goes, from MassTransit's own trace activities (consume, send, publish): every
/// finished activity's duration by name, printed per phase on standard error. On only when
/// ICOSFL_BENCH_PROFILE is set, so the figures of an ordinary run carry no listener.
/// </summary>
public sealed class ActivityProfile : IDisposable
{
    private readonly ActivityListener _listener;
    private ConcurrentQueue<(string Name, double Ms, DateTime Start)> _spans = new();

    private TimeSpan _cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;

    private ActivityProfile()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "MassTransit",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = a => _spans.Enqueue((a.DisplayName, a.Duration.TotalMilliseconds, a.StartTimeUtc)),
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public static ActivityProfile? StartIfAsked() =>
        string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ICOSFL_BENCH_PROFILE")) ? null : new ActivityProfile();

    /// <summary>Forgets what was recorded so far (a warm-up).</summary>
    public void Reset()
    {
        _spans = new ConcurrentQueue<(string Name, double Ms, DateTime Start)>();
        _cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
    }

    /// <summary>Prints what was recorded since the last call, per activity name, and starts afresh.</summary>
    public void Report(string phase, int rounds)
    {
        var spans = Interlocked.Exchange(ref _spans, new ConcurrentQueue<(string Name, double Ms, DateTime Start)>()).ToList();
        var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        Console.Error.WriteLine($"-- profile: {phase} ({rounds} rounds): this process used {(cpu - _cpu).TotalMilliseconds / rounds:0} ms CPU per round (controller and fleet)");
        _cpu = cpu;
        Console.Error.WriteLine("per activity: count per round, mean ms, max ms, total ms per round");
        foreach (var g in spans.GroupBy(s => s.Name).OrderByDescending(g => g.Sum(s => s.Ms)))
            Console.Error.WriteLine($"{g.Key,-70} {g.Count() / (double)rounds,8:0.0} {g.Average(s => s.Ms),8:0.00} {g.Max(s => s.Ms),8:0.0} {g.Sum(s => s.Ms) / rounds,9:0.0}");
        // The last round's timeline: when each kind of activity first started and last ended, from the round's opening.
        var opened = spans.Where(s => s.Name.EndsWith("RoundOpened send", StringComparison.Ordinal)).Select(s => s.Start).DefaultIfEmpty().Max();
        Console.Error.WriteLine("-- last round's timeline (ms from RoundOpened send): first start, last end, count");
        foreach (var g in spans.Where(s => s.Start >= opened).GroupBy(s => s.Name).OrderBy(g => g.Min(s => s.Start)))
            Console.Error.WriteLine($"{g.Key,-70} {(g.Min(s => s.Start) - opened).TotalMilliseconds,8:0.0} {g.Max(s => (s.Start - opened).TotalMilliseconds + s.Ms),8:0.0} {g.Count(),5}");
    }

    public void Dispose() => _listener.Dispose();
}
