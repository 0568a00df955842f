using System.Text.Json;

namespace IcosFl.EndToEnd.Tests;

public sealed class Simulating_a_federation
{
    [Fact]
    public async Task Should_run_three_workers_for_three_rounds_and_improve_the_evaluation_loss()
    {
        var result = await CliProcess.RunAsync(TimeSpan.FromMinutes(3),
            "simulate", "--workers", "3", "--rounds", "3", "--json");

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}; stderr:\n{result.StdErr}");
        using var json = JsonDocument.Parse(result.StdOut);
        var root = json.RootElement;
        Assert.True(Guid.TryParse(root.GetProperty("federationId").GetString(), out _));
        Assert.Equal("cpu_usage", root.GetProperty("metric").GetString());
        Assert.Equal("synthetic", root.GetProperty("data").GetString());
        var rounds = root.GetProperty("rounds").EnumerateArray().ToList();
        Assert.Equal([1, 2, 3], rounds.Select(r => r.GetProperty("round").GetInt32()));
        Assert.All(rounds, r => Assert.Equal(3, r.GetProperty("participants").GetInt32()));
        Assert.All(rounds, r => Assert.True(r.GetProperty("durationMs").GetDouble() > 0));
        var firstEval = rounds[0].GetProperty("evalLoss").GetDouble();
        var lastEval = rounds[^1].GetProperty("evalLoss").GetDouble();
        Assert.True(lastEval < firstEval, $"eval loss went from {firstEval} to {lastEval}");

        var final = root.GetProperty("final");
        Assert.Equal(Math.Sqrt(final.GetProperty("mse").GetDouble()), final.GetProperty("rmse").GetDouble(), 6);
        Assert.True(final.GetProperty("persistenceRmse").GetDouble() > 0);

        // Progress: one line per round on stderr, nothing but JSON on stdout.
        Assert.Equal(3, result.StdErr.Split('\n').Count(l => l.StartsWith("round ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Should_train_without_federated_evaluation_when_fraction_evaluate_is_0()
    {
        var result = await CliProcess.RunAsync(TimeSpan.FromMinutes(3),
            "simulate", "--workers", "2", "--rounds", "2", "--run-config", "fraction-evaluate=0 local-epochs=1", "--json");

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}; stderr:\n{result.StdErr}");
        using var json = JsonDocument.Parse(result.StdOut);
        var rounds = json.RootElement.GetProperty("rounds").EnumerateArray().ToList();
        Assert.Equal([1, 2], rounds.Select(r => r.GetProperty("round").GetInt32()));
        Assert.All(rounds, r => Assert.Equal(2, r.GetProperty("participants").GetInt32()));
        // No worker evaluated; the controller's own (centralized) evaluation still ran.
        Assert.All(rounds, r => Assert.False(r.TryGetProperty("evalLoss", out _), r.ToString()));
        Assert.All(rounds, r => Assert.True(r.GetProperty("centralizedRmse").GetDouble() > 0));
    }

    [Fact]
    public async Task Should_exit_2_naming_the_key_of_a_bad_run_config()
    {
        var result = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "simulate", "--run-config", "metric=bogus");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("metric", result.StdErr);
        Assert.Contains("bogus", result.StdErr);
        Assert.Equal("", result.StdOut);
    }

    [Fact]
    public async Task Should_refuse_fewer_workers_than_min_available_clients()
    {
        var result = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "simulate", "--workers", "1");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("min-available-clients", result.StdErr);
    }
}
