using System.Diagnostics;

namespace IcosFl.TestKit;

/// <summary>How a child process ended: its exit code and everything it printed.</summary>
public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr);

/// <summary>
/// Runs a child process to its end (the CLI, python, a script), reading stdout and stderr side by side so neither
/// can fill its pipe and stall the other. One that outlives <c>timeout</c> is killed with its children, and the
/// wait fails naming the command and what it had written to stderr; so does one whose output stays open after it
/// exited (a child of its own still holding the pipes), rather than waiting for ever.
/// </summary>
public static class ChildProcess
{
    /// <summary>How long the output may stay open after the process exited.</summary>
    private static readonly TimeSpan OutputGrace = TimeSpan.FromSeconds(30);

    public static async Task<ProcessResult> RunAsync(ProcessStartInfo info, TimeSpan timeout)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {info.FileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{info.FileName} {string.Join(' ', info.ArgumentList)} did not finish within {timeout}; stderr so far: {await stderr}");
        }
        try
        {
            await Task.WhenAll(stdout, stderr).WaitAsync(OutputGrace);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{info.FileName} {string.Join(' ', info.ArgumentList)} exited with {process.ExitCode} but its output stayed open for {OutputGrace} (a process it started still holds it)");
        }
        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }
}
