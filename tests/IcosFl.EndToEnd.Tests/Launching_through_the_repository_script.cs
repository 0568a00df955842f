namespace IcosFl.EndToEnd.Tests;

public sealed class Launching_through_the_repository_script
{
    [Fact]
    public async Task Should_build_the_cli_when_needed_and_pass_arguments_and_exit_codes_through()
    {
        var script = Path.Combine(CliProcess.RepositoryRoot, "icosfl");
        var result = await CliProcess.RunProcessAsync(script, ["simulate", "--run-config", "num-server-rounds=0"], TimeSpan.FromMinutes(5));

        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}; stderr:\n{result.StdErr}");
        Assert.Contains("num-server-rounds", result.StdErr);
        Assert.True(File.Exists(Path.Combine(CliProcess.RepositoryRoot, ".icosfl", "cli", "icosfl.dll")));
    }
}
