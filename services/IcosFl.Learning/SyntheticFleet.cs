using IcosFl.Contracts;

namespace IcosFl.Learning;

/// <summary>
/// <para>
/// Clearly <b>synthetic</b> node metrics for the embedded simulation and the quality experiment, made the way a
/// Linux node produces them, sampled every 3 s as ICOS-FL does. Every metric of a node is derived from one
/// latent workload, so the series are aligned in time and correlated; all of it is deterministic in
/// (seed, nodeIndex), and a shorter series is the start of a longer one.
/// </para>
/// <para>
/// The workload is the node's run queue, second by second: service jobs arriving at a rate that follows a
/// daily-like intensity cycle compressed to 8-25 minutes, each running for a while with one or two threads; a
/// periodic cron/batch job; unannounced bursts that then last one to five minutes; and short-lived tasks
/// (Poisson, a fraction of a task on average). From it:
/// </para>
/// <list type="bullet">
/// <item><c>cpu_usage</c> is the 1-minute load average exactly as the kernel computes it: every 5 s plus one tick
/// (HZ 250) it folds the run-queue length n into load = load·e + n·(1 − e) with e = exp(−5/60) in 11-bit fixed
/// point (EXP_1 = 1884), and /proc/loadavg prints two decimals. Smooth with momentum: after a job starts or ends
/// the load keeps moving the same way for a minute, which a model that sees the trend can follow and persistence
/// lags; between two kernel updates two 3 s samples repeat the same value.</item>
/// <item><c>memory_usage</c> is MiB used (MemTotal − MemAvailable): the node's base, each running job's resident
/// memory, and a long-running service's heap that grows slowly and drops at each garbage collection.</item>
/// <item><c>power_consumption</c> is watts averaged over the 3 s interval (as RAPL energy deltas are): idle watts
/// plus a per-node slope times the busy cores (run queue capped at the core count), plus meter noise.</item>
/// </list>
/// <para>
/// Non-IID on purpose, as real fleets are: each node draws its own core count (2-16), memory size, service load
/// and job lengths, intensity cycle (length, phase, depth), cron period and size, burst rate, idle watts and watts
/// per core. See <see cref="Describe"/>.
/// </para>
/// </summary>
public static class SyntheticFleet
{
    public const double SampleIntervalSeconds = 3;

    /// <summary>The workload runs this long before the first sample, so a series starts in a steady state, not from an idle boot.</summary>
    private const int WarmUpSeconds = 900;

    // The kernel's load-average arithmetic (include/linux/sched/loadavg.h): 11-bit fixed point, EXP_1 = 1/exp(5s/1min).
    private const int FixedShift = 11;
    private const long Fixed1 = 1L << FixedShift;
    private const long Exp1 = 1884;
    private const double LoadFrequencySeconds = 5 + 1.0 / 250; // LOAD_FREQ = 5*HZ+1 ticks

    /// <summary>A node's drawn characteristics (what makes the fleet non-IID).</summary>
    public sealed record NodeProfile(
        int Cores,
        double MemoryTotalMiB,
        double MemoryBaseMiB,
        double ServiceThreads,
        double JobMeanSeconds,
        double CycleSeconds,
        double CycleDepth,
        int CronPeriodSeconds,
        int CronThreads,
        double BurstsPerHour,
        double ShortTasks,
        double IdleWatts,
        double WattsPerCore);

    /// <summary>One metric of one node; <paramref name="nodeIndex"/> picks the node (simulate uses 0 for the controller, 1..N for workers).</summary>
    public static float[] Series(string metric, int nodeIndex, int length, int seed)
    {
        ArgumentNullException.ThrowIfNull(metric);
        if (!Metrics.All.Contains(metric))
        {
            throw new ArgumentException(
                $"No synthetic profile for metric '{metric}'; known metrics: {string.Join(", ", Metrics.All)}.", nameof(metric));
        }

        return Node(nodeIndex, length, seed)[metric];
    }

    /// <summary>Every metric of one node, aligned sample by sample (index k is the node at 3k seconds).</summary>
    public static IReadOnlyDictionary<string, float[]> Node(int nodeIndex, int length, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(nodeIndex);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var profile = Describe(nodeIndex, seed);
        var workload = Workload.Simulate(profile, (int)(length * SampleIntervalSeconds) + 1, new Random(HashCode(seed, nodeIndex, 1)));
        return new Dictionary<string, float[]>
        {
            [Metrics.CpuUsage] = LoadAverage(workload, length, new Random(HashCode(seed, nodeIndex, 2)).NextDouble() * LoadFrequencySeconds),
            [Metrics.MemoryUsage] = MemoryUsed(profile, workload, length, new Random(HashCode(seed, nodeIndex, 3))),
            [Metrics.PowerConsumption] = Power(profile, workload, length, new Random(HashCode(seed, nodeIndex, 4))),
        };
    }

    /// <summary>The characteristics node <paramref name="nodeIndex"/> of the fleet seeded <paramref name="seed"/> draws.</summary>
    public static NodeProfile Describe(int nodeIndex, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(nodeIndex);
        var random = new Random(HashCode(seed, nodeIndex, 0));
        int cores = new[] { 2, 4, 4, 8, 8, 16 }[random.Next(6)];
        double memoryTotal = cores * 1024 * new[] { 1, 2, 4 }[random.Next(3)];
        return new NodeProfile(
            Cores: cores,
            MemoryTotalMiB: memoryTotal,
            MemoryBaseMiB: memoryTotal * Between(random, 0.15, 0.35),
            ServiceThreads: cores * Between(random, 0.1, 0.45),
            JobMeanSeconds: Between(random, 30, 150),
            CycleSeconds: Between(random, 8 * 60, 25 * 60),
            CycleDepth: Between(random, 0.4, 0.9),
            CronPeriodSeconds: random.Next(180, 601),
            CronThreads: Math.Max(1, (int)Math.Round(cores * Between(random, 0.2, 0.6))),
            BurstsPerHour: Between(random, 1, 4),
            ShortTasks: Between(random, 0.05, 0.3),
            IdleWatts: Between(random, 30, 60) + cores * Between(random, 2, 4),
            WattsPerCore: Between(random, 6, 16));
    }

    /// <summary>
    /// The run queue and job memory second by second, from <see cref="WarmUpSeconds"/> before the first sample
    /// (index 0) on. Each second's draws depend only on earlier seconds, so a longer run repeats a shorter one.
    /// </summary>
    private sealed class Workload
    {
        public required int[] RunQueue { get; init; }
        public required double[] JobMemoryMiB { get; init; }
        public required double[] HeapMiB { get; init; }

        public static Workload Simulate(NodeProfile node, int seconds, Random random)
        {
            int total = WarmUpSeconds + seconds;
            var threadDelta = new int[total + 1];
            var memoryDelta = new double[total + 1];
            var shortTasks = new int[total];
            var heap = new double[total];

            double phase = Between(random, 0, 2 * Math.PI);
            double harmonic = Between(random, 0.1, 0.4); // a second harmonic makes the cycle non-sinusoidal
            double arrivalsPerSecond = node.ServiceThreads / (node.JobMeanSeconds * 1.3); // 1.3 threads per service job on average
            // Memory sizes scale with the node's memory per core, so small nodes are not pushed against their total.
            double memoryPerCore = node.MemoryTotalMiB / node.Cores;
            double memoryPerThread = memoryPerCore * Between(random, 0.03, 0.12);
            int cronOffset = random.Next(node.CronPeriodSeconds);
            double cronSeconds = Between(random, 20, 90);
            double cronMemory = node.MemoryTotalMiB * Between(random, 0.02, 0.08);
            double heapGrowthPerSecond = memoryPerCore * Between(random, 0.0001, 0.0004);
            double heapLimit = node.MemoryTotalMiB * Between(random, 0.03, 0.1);
            double heapNow = heapLimit * random.NextDouble();

            void Run(int start, double seconds, int threads, double memory)
            {
                int end = Math.Min(total, start + Math.Max(1, (int)Math.Round(seconds)));
                threadDelta[start] += threads;
                threadDelta[end] -= threads;
                memoryDelta[start] += memory;
                memoryDelta[end] -= memory;
            }

            for (int s = 0; s < total; s++)
            {
                double angle = 2 * Math.PI * s / node.CycleSeconds + phase;
                double cycle = (Math.Sin(angle) + harmonic * Math.Sin(2 * angle + 1)) / (1 + harmonic);
                int arrivals = Poisson(random, arrivalsPerSecond * (1 + node.CycleDepth * cycle));
                for (int a = 0; a < arrivals; a++)
                {
                    int threads = random.NextDouble() < 0.7 ? 1 : 2;
                    // Log-normal lengths with the node's mean: most jobs short, a few long.
                    double length = node.JobMeanSeconds * Math.Exp(0.6 * Gaussian(random) - 0.18);
                    Run(s, length, threads, threads * memoryPerThread * Between(random, 0.5, 1.5));
                }

                if ((s + cronOffset) % node.CronPeriodSeconds == 0)
                    Run(s, cronSeconds * Between(random, 0.8, 1.2), node.CronThreads, cronMemory);

                if (random.NextDouble() < node.BurstsPerHour / 3600)
                {
                    int threads = random.Next(1, node.Cores + 1);
                    Run(s, Between(random, 60, 300), threads, threads * memoryPerCore * Between(random, 0.05, 0.2));
                }

                shortTasks[s] = Poisson(random, node.ShortTasks);

                // A managed service's heap: grows with the work done, collected back to a fraction when it reaches its limit.
                heapNow += heapGrowthPerSecond * (1 + 0.5 * cycle);
                if (heapNow > heapLimit)
                    heapNow = heapLimit * Between(random, 0.2, 0.5);
                heap[s] = heapNow;
            }

            var runQueue = new int[total];
            var jobMemory = new double[total];
            int threadsRunning = 0;
            double memoryHeld = 0;
            for (int s = 0; s < total; s++)
            {
                threadsRunning += threadDelta[s];
                memoryHeld += memoryDelta[s];
                runQueue[s] = threadsRunning + shortTasks[s];
                jobMemory[s] = memoryHeld;
            }

            return new Workload { RunQueue = runQueue, JobMemoryMiB = jobMemory, HeapMiB = heap };
        }
    }

    /// <summary>/proc/loadavg's first field every 3 s: the kernel's fixed-point damped average of the run queue, printed with two decimals.</summary>
    private static float[] LoadAverage(Workload workload, int length, double firstUpdateSeconds)
    {
        var series = new float[length];
        long load = 0; // avenrun[0], fixed point
        double nextUpdate = firstUpdateSeconds;
        int sample = 0;
        int total = workload.RunQueue.Length;
        for (int s = 0; s < total && sample < length; s++)
        {
            while (nextUpdate <= s)
            {
                load = FoldLoad(load, workload.RunQueue[(int)nextUpdate]);
                nextUpdate += LoadFrequencySeconds;
            }

            if (s >= WarmUpSeconds && (s - WarmUpSeconds) % (int)SampleIntervalSeconds == 0)
                series[sample++] = PrintLoad(load);
        }

        return series;
    }

    // calc_load(): newload = load*EXP_1 + active*(FIXED_1-EXP_1), rounded up while the load rises.
    internal static long FoldLoad(long load, int running)
    {
        long active = running * Fixed1;
        long next = load * Exp1 + active * (Fixed1 - Exp1);
        if (active >= load)
            next += Fixed1 - 1;
        return next / Fixed1;
    }

    // fs/proc/loadavg.c: LOAD_INT(a).LOAD_FRAC(a) with a = avenrun + FIXED_1/200.
    internal static float PrintLoad(long load)
    {
        long a = load + Fixed1 / 200;
        long whole = a >> FixedShift;
        long hundredths = ((a & (Fixed1 - 1)) * 100) >> FixedShift;
        return (float)(whole + hundredths / 100.0);
    }

    private static float[] MemoryUsed(NodeProfile node, Workload workload, int length, Random noise)
    {
        var series = new float[length];
        for (int k = 0; k < length; k++)
        {
            int s = WarmUpSeconds + (int)(k * SampleIntervalSeconds);
            double used = node.MemoryBaseMiB + workload.JobMemoryMiB[s] + workload.HeapMiB[s] + 4 * Gaussian(noise);
            // MemAvailable never reaches zero on a live node: the kernel reclaims (or kills) first.
            series[k] = (float)Math.Round(Math.Clamp(used, 0, node.MemoryTotalMiB * 0.97), 1);
        }

        return series;
    }

    private static float[] Power(NodeProfile node, Workload workload, int length, Random noise)
    {
        var series = new float[length];
        int interval = (int)SampleIntervalSeconds;
        for (int k = 0; k < length; k++)
        {
            int end = WarmUpSeconds + k * interval;
            double busy = 0;
            for (int s = end - interval + 1; s <= end; s++)
                busy += Math.Min(workload.RunQueue[s], node.Cores);
            double watts = node.IdleWatts + node.WattsPerCore * busy / interval + 1.5 * Gaussian(noise);
            series[k] = (float)Math.Round(Math.Max(watts, node.IdleWatts * 0.9), 2);
        }

        return series;
    }

    // A fixed mix (not System.HashCode, which is randomised per process) so series repeat across runs; stream
    // separates the latent workload from each metric's measurement noise.
    private static int HashCode(int seed, int nodeIndex, int stream) =>
        unchecked((seed * 486_187_739) ^ (nodeIndex * 16_777_619 + 374_761_393) ^ (stream * 668_265_263));

    private static double Between(Random random, double low, double high) => low + random.NextDouble() * (high - low);

    private static double Gaussian(Random random)
    {
        // Box-Muller; 1 - NextDouble() lies in (0, 1], so the logarithm is finite.
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    // Knuth's method: exact and fast for the small means used here.
    private static int Poisson(Random random, double mean)
    {
        if (mean <= 0)
            return 0;
        double limit = Math.Exp(-mean), product = random.NextDouble();
        int count = 0;
        while (product > limit)
        {
            count++;
            product *= random.NextDouble();
        }

        return count;
    }
}
