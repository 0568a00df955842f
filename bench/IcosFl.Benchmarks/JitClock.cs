using System.Diagnostics;
using System.Runtime;

namespace IcosFl.Benchmarks;

/// <summary>
/// Time this process's JIT spent compiling (all threads) since <see cref="Start"/>. A node runs for hours, and .NET
/// compiles the hot paths in tiers (unoptimised, then instrumented, then optimised) over their first calls, in the
/// background and postponed while new methods keep being compiled: MassTransit's pipeline is tens of thousands of
/// small methods, so a suite measured before that has settled measures the JIT, not the code.
/// </summary>
public readonly record struct JitClock(TimeSpan At)
{
    /// <summary>Settled: two warm-ups in a row spent less than this share of their wall time compiling.</summary>
    private const double SettledShare = 0.05;

    public static JitClock Start() => new(JitInfo.GetCompilationTime());

    public TimeSpan Elapsed => JitInfo.GetCompilationTime() - At;

    /// <summary>
    /// Runs <paramref name="warmUp"/> until the JIT has settled or <paramref name="max"/> times; returns how many it ran,
    /// with a warning on standard error when the last one still compiled more than the settled share.
    /// </summary>
    public static async Task<int> WarmUpUntilSettledAsync(string suite, int max, Func<Task> warmUp)
    {
        var (runs, settled) = (0, 0);
        for (; settled < 2 && runs < max; runs++)
        {
            var jit = Start();
            var wall = Stopwatch.StartNew();
            await warmUp();
            settled = jit.Elapsed < wall.Elapsed * SettledShare ? settled + 1 : 0;
        }
        if (settled == 0)
            Console.Error.WriteLine($"{suite}: the JIT was still busy after {runs} warm-ups; the figures include some of it (see the jit columns)");
        return runs;
    }
}
