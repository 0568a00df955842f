using IcosFl.Contracts;
using IcosFl.Controller.Strategies;
using Serilog.Events;

namespace IcosFl.Cli.Simulation;

public sealed record SimulationOptions
{
    /// <summary>2,000 points = 100 minutes at 3 s: enough windows to learn, quick to train.</summary>
    public const int DefaultPoints = 2000;

    public int Workers { get; init; } = 3;
    public RunConfig RunConfig { get; init; } = RunConfig.Default with { NumServerRounds = 5 };
    public int Points { get; init; } = DefaultPoints;
    public bool Json { get; init; }
    public LogEventLevel LogLevel { get; init; } = LogEventLevel.Warning;
    /// <summary>Where the dashboard listens while (and after) the simulation runs; null: no dashboard.</summary>
    public Uri? Http { get; init; }
    /// <summary>Seconds between simulated heartbeats.</summary>
    public double HeartbeatInterval { get; init; } = 2;
    /// <summary>Where the controller writes checkpoints; null keeps them in memory.</summary>
    public string? CheckpointDirectory { get; init; }
    /// <summary>Continue this federation from its latest checkpoint (RunConfig is then that checkpoint's, with overrides).</summary>
    public Guid? ResumeFrom { get; init; }

    /// <summary>Real series from `--data DIR` (workers named after their files); null: the synthetic fleet.</summary>
    public SimulationData? Data { get; init; }

    /// <summary>The simulated workers' ids: worker-1..worker-N, or with <see cref="Data"/> the names of its files.</summary>
    public IReadOnlyList<string> WorkerIds => Data is { } data
        ? data.Workers.Select(w => w.Node).ToList()
        : Enumerable.Range(1, Workers).Select(i => $"worker-{i}").ToList();

    /// <summary>Workers (see <see cref="WorkerIds"/>) that send harmful updates instead of their trained weights; empty by default.</summary>
    public IReadOnlyDictionary<string, SimulatedAdversary> Adversaries { get; init; } = new Dictionary<string, SimulatedAdversary>();

    /// <summary>The adversaries in worker order, as "worker-5=scale:100".</summary>
    public IEnumerable<KeyValuePair<string, SimulatedAdversary>> AdversariesInWorkerOrder =>
        Adversaries.OrderBy(a => WorkerNumber(a.Key) ?? int.MaxValue).ThenBy(a => a.Key, StringComparer.Ordinal);

    /// <summary>Why this simulation cannot run as asked, or null.</summary>
    public string? FindProblem()
    {
        if (Data is not null && Data.Workers.Count != Workers)
            return $"--workers {Workers}: --data {Data.Directory} holds {Data.Workers.Count} worker files; leave --workers out with --data";
        if (Workers < 1)
            return $"--workers must be at least 1, got {Workers}";
        if (Workers > 1000)
            return $"--workers must be at most 1000 in one process, got {Workers}";
        if (Workers < RunConfig.MinAvailableClients)
            return $"--workers {Workers} is below min-available-clients={RunConfig.MinAvailableClients}: the federation would wait forever; " +
                   "start more workers or lower min-available-clients";
        if (Workers < RunConfig.MinFitClients)
            return $"--workers {Workers} is below min-fit-clients={RunConfig.MinFitClients}; start more workers or lower min-fit-clients";
        if (Points < 1)
            return $"--points must be positive, got {Points}";
        foreach (var (workerId, adversary) in AdversariesInWorkerOrder)
        {
            if (!WorkerIds.Contains(workerId))
                return $"--adversary {workerId}={adversary}: no such worker; the simulated workers are " +
                       (Data is null ? $"worker-1..worker-{Workers}" : string.Join(", ", WorkerIds));
        }

        // The one run-config validator (strategy keys included); a config parsed from text has passed it already.
        if (RunConfigParser.Validate(RunConfig) is { Count: > 0 } problems)
            return string.Join("; ", problems.Select(p => p.Message));

        return null;
    }

    private static int? WorkerNumber(string workerId) =>
        workerId.StartsWith("worker-", StringComparison.Ordinal) && int.TryParse(workerId["worker-".Length..], out var n) ? n : null;
}
