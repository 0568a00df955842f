using System.Diagnostics;
using IcosFl.TestKit;

namespace IcosFl.EndToEnd.Tests;

/// <summary>Runs the real CLI as a child process and captures what it prints.</summary>
public sealed record CliResult(int ExitCode, string StdOut, string StdErr);

public static class CliProcess
{
    /// <summary>The icosfl.dll built beside this test assembly (the test project references the CLI).</summary>
    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "icosfl.dll");

    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "IcosFl.sln")))
                dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("IcosFl.sln not found above " + AppContext.BaseDirectory);
        }
    }

    public static Task<CliResult> RunAsync(TimeSpan timeout, params string[] args) =>
        RunProcessAsync("dotnet", [CliDll, .. args], timeout);

    public static async Task<CliResult> RunProcessAsync(string fileName, IEnumerable<string> args, TimeSpan timeout,
        string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName) { WorkingDirectory = workingDirectory ?? RepositoryRoot };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        var (exitCode, stdout, stderr) = await ChildProcess.RunAsync(info, timeout);
        return new CliResult(exitCode, stdout, stderr);
    }
}
