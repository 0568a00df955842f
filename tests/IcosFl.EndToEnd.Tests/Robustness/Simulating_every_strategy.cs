using IcosFl.Cli.Simulation;
using IcosFl.Contracts;
using Serilog.Events;

namespace IcosFl.EndToEnd.Tests.Robustness;

/// <summary>Every strategy name runs a whole (small) federation to completion in the embedded mode.</summary>
public sealed class Simulating_every_strategy
{
    public static TheoryData<string> StrategyNames => [.. Strategies.All];

    [Theory]
    [MemberData(nameof(StrategyNames))]
    public async Task Should_complete_with(string strategy)
    {
        var options = new SimulationOptions
        {
            Workers = 3,
            Points = 400,
            // multikrum needs num-clients-to-keep; the other strategies ignore it.
            RunConfig = RunConfig.Default with { Strategy = strategy, NumServerRounds = 2, LocalEpochs = 1, NumClientsToKeep = 2 },
            LogLevel = LogEventLevel.Fatal,
        };
        Assert.Null(options.FindProblem());
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var progress = new StringWriter();

        var report = await EmbeddedFederation.RunAsync(options, progress, timeout.Token);

        Assert.True(report.State == "Completed", $"{strategy}: {report.State}: {report.Reason}\n{progress}");
        Assert.Equal(strategy, report.Strategy);
        Assert.Equal([1, 2], report.Rounds.Select(r => r.Round));
        Assert.All(report.Rounds, r => Assert.True(r.Participants >= 1, $"{strategy} round {r.Round}: no participants"));
        Assert.True(report.Final is { Rmse: > 0 } final && double.IsFinite(final.Rmse), $"{strategy}: final {report.Final}");
    }
}
