using System.Text.Json;

namespace IcosFl.EndToEnd.Tests.Robustness;

/// <summary>The --adversary option of <c>icosfl simulate</c>, through the real CLI process.</summary>
public sealed class Simulating_with_an_adversary
{
    [Fact]
    public async Task Should_name_the_adversary_and_report_its_rejected_update()
    {
        var result = await CliProcess.RunAsync(TimeSpan.FromMinutes(2),
            "simulate", "--workers", "3", "--rounds", "1", "--points", "400", "--adversary", "worker-3=nan", "--json");

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}; stderr:\n{result.StdErr}");
        Assert.Contains("3 workers with synthetic cpu_usage data (400 points each), 1 rounds of fedavg; adversaries: worker-3 nan", result.StdErr);
        Assert.Contains("2 participants", result.StdErr);
        Assert.Contains("rejected: worker-3: unreadable weights: tensor 0 'lstm.weight_ih_l0': element 0 is NaN", result.StdErr);
        using var json = JsonDocument.Parse(result.StdOut);
        var root = json.RootElement;
        Assert.Equal("nan", root.GetProperty("adversaries").GetProperty("worker-3").GetString());
        var rejected = Assert.Single(Assert.Single(root.GetProperty("rounds").EnumerateArray()).GetProperty("rejected").EnumerateArray());
        Assert.Equal("worker-3", rejected.GetProperty("workerId").GetString());
        Assert.StartsWith("unreadable weights: tensor 0 'lstm.weight_ih_l0'", rejected.GetProperty("reason").GetString());
    }

    [Theory]
    [InlineData("worker-4=nan", "--adversary worker-4=nan: no such worker; the simulated workers are worker-1..worker-3")]
    [InlineData("worker-2=scale:lots", "--adversary 'worker-2=scale:lots': scale factor 'lots' is not a finite number")]
    public async Task Should_exit_2_naming_the_option(string value, string expected)
    {
        var result = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "simulate", "--workers", "3", "--adversary", value);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.StdErr);
        Assert.Equal("", result.StdOut);
    }

    [Fact]
    public async Task Should_exit_2_when_a_worker_is_given_twice()
    {
        var result = await CliProcess.RunAsync(TimeSpan.FromMinutes(1),
            "simulate", "--adversary", "worker-1=nan", "--adversary", "worker-1=sign-flip");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--adversary worker-1 is given twice (nan and sign-flip)", result.StdErr);
    }
}
