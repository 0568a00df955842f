using System.Collections.Concurrent;
using IcosFl.Cli.Simulation;
using IcosFl.Contracts;
using Serilog.Events;

namespace IcosFl.EndToEnd.Tests.Robustness;

/// <summary>
/// Embedded federations of the robustness comparison, run in this process and each at most once per
/// test run (the clean fedavg run is every test's reference). 5 workers, worker-5 the adversary; sized
/// to learn something (the strategies compared, not trained as far as persistence: see the README) in a few
/// seconds per federation on two cores.
/// </summary>
public sealed class RobustnessRuns
{
    public const string Adversary = "worker-5";

    /// <summary>The settings of every run; the README's table is reproduced with the same values.</summary>
    public static RunConfig Config { get; } = RunConfig.Default with
    {
        NumServerRounds = 4,
        LocalEpochs = 2,
        LearningRate = 0.005,
        Seed = 42,
        NumMaliciousClients = 1,
    };

    public const int Workers = 5;
    public const int Points = 1200;

    private readonly ConcurrentDictionary<string, Lazy<Task<SimulationReport>>> runs = new();

    /// <param name="adversary">An --adversary kind for worker-5 ("scale:100", "sign-flip", "nan"), or null for the clean run.</param>
    public Task<SimulationReport> Run(string strategy, string? adversary) =>
        runs.GetOrAdd($"{strategy}|{adversary}", _ => new Lazy<Task<SimulationReport>>(() => Simulate(strategy, adversary))).Value;

    private static async Task<SimulationReport> Simulate(string strategy, string? adversary)
    {
        var adversaries = new Dictionary<string, SimulatedAdversary>();
        if (adversary is not null)
        {
            var (worker, kind) = SimulatedAdversary.Parse($"{Adversary}={adversary}");
            adversaries[worker] = kind;
        }

        var options = new SimulationOptions
        {
            Workers = Workers,
            Points = Points,
            RunConfig = Config with { Strategy = strategy },
            Adversaries = adversaries,
            LogLevel = LogEventLevel.Fatal,
        };
        Assert.Null(options.FindProblem());
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var progress = new StringWriter();
        SimulationReport report;
        try
        {
            report = await EmbeddedFederation.RunAsync(options, progress, timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"{strategy} with {adversary ?? "no adversary"} did not end within 2 minutes:\n{progress}");
        }

        Assert.True(report.State == "Completed", $"{strategy} with {adversary ?? "no adversary"}: {report.State}: {report.Reason}\n{progress}");
        Assert.Equal(Config.NumServerRounds, report.Rounds.Count);
        return report;
    }
}
