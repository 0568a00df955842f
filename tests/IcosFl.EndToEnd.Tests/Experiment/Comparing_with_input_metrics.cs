using System.Text.Json;

namespace IcosFl.EndToEnd.Tests.Experiment;

/// <summary>`icosfl experiment --data DIR` with a multivariate run config: the models read the other metrics of each file.</summary>
public sealed class Comparing_with_input_metrics
{
    private static readonly string Data = Path.Combine(CliProcess.RepositoryRoot, "tests", "IcosFl.EndToEnd.Tests", "Fixtures", "simulate-data");
    private const string Small = "num-server-rounds=2 local-epochs=1 hidden-layer-size=4 time-step=5 forecast-horizon=5 seed=7";

    private static async Task<Dictionary<string, double>> OneStepRmseAsync(string runConfig)
    {
        var result = await CliProcess.RunAsync(TimeSpan.FromMinutes(3), "experiment", "--data", Data, "--json", "--run-config", runConfig);
        Assert.True(result.ExitCode is 0 or 1, $"exit {result.ExitCode} (0: targets met, 1: missed): {result.StdErr}");
        using var report = JsonDocument.Parse(result.StdOut);
        return report.RootElement.GetProperty("rows").EnumerateArray()
            .Where(r => r.GetProperty("horizon").GetInt32() == 1)
            .ToDictionary(r => r.GetProperty("model").GetString()!, r => r.GetProperty("rmse").GetDouble());
    }

    [Fact]
    public async Task Should_train_on_the_input_metrics_of_every_file()
    {
        var univariate = await OneStepRmseAsync(Small);
        var multivariate = await OneStepRmseAsync(Small + " input-metrics=memory_usage");

        // The baselines read the forecast metric only; the models see memory too, so they come out differently.
        Assert.Equal(univariate["persistence"], multivariate["persistence"], 10);
        Assert.NotEqual(univariate["federated"], multivariate["federated"]);
        Assert.NotEqual(univariate["centralized"], multivariate["centralized"]);
    }

    [Fact]
    public async Task Should_refuse_an_input_metric_a_file_does_not_hold_naming_file_and_metric()
    {
        var result = await CliProcess.RunAsync(TimeSpan.FromMinutes(2), "experiment", "--data", Data, "--run-config", Small + " input-metrics=power_consumption");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(".csv: input metric power_consumption (input-metrics) is not available on this node", result.StdErr);
    }

    [Fact]
    public async Task Should_refuse_files_too_short_for_the_horizon_before_training_naming_worker_and_counts()
    {
        var result = await CliProcess.RunAsync(TimeSpan.FromMinutes(2), "experiment", "--data", Data);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("controller.csv holds 240 cpu_usage points; 251 are needed", result.StdErr);
        Assert.DoesNotContain("federated round", result.StdErr); // nothing trained first
    }
}
