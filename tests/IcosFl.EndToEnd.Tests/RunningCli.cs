using System.Diagnostics;
using System.Text;

namespace IcosFl.EndToEnd.Tests;

/// <summary>The real CLI as a long-running child process (e.g. `simulate --http`, which serves until stopped): wait for its lines, then stop it.</summary>
public sealed class RunningCli : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly List<(Func<string, bool> Match, StringBuilder? From, TaskCompletionSource<string> Found)> _waits = [];
    private readonly Lock _lock = new();

    private RunningCli(Process process) => _process = process;

    public static RunningCli Start(string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        info.ArgumentList.Add(CliProcess.CliDll);
        foreach (var a in args)
            info.ArgumentList.Add(a);
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var cli = new RunningCli(process);
        process.OutputDataReceived += (_, e) => cli.Received(e.Data, cli._stdout);
        process.ErrorDataReceived += (_, e) => cli.Received(e.Data, cli._stderr);
        process.Exited += (_, _) => cli.FailWaits();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return cli;
    }

    public string StdOut { get { lock (_lock) return _stdout.ToString(); } }

    public string StdErr { get { lock (_lock) return _stderr.ToString(); } }

    /// <summary>The first line (stdout or stderr) that matches, already printed or yet to come.</summary>
    public Task<string> LineAsync(Func<string, bool> match, TimeSpan timeout) => WaitAsync(match, from: null, timeout);

    /// <summary>
    /// The first stdout line that matches. The two streams are read on separate threads, so a stderr line written after a
    /// stdout line can arrive first: wait for stdout output here rather than for a later stderr line.
    /// </summary>
    public Task<string> StdOutLineAsync(Func<string, bool> match, TimeSpan timeout) => WaitAsync(match, _stdout, timeout);

    private Task<string> WaitAsync(Func<string, bool> match, StringBuilder? from, TimeSpan timeout)
    {
        lock (_lock)
        {
            var printed = from?.ToString() ?? _stdout + "\n" + _stderr;
            var seen = printed.Split('\n').FirstOrDefault(l => match(l.TrimEnd('\r')));
            if (seen is not null)
                return Task.FromResult(seen);
            var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waits.Add((match, from, found));
            return found.Task.WaitAsync(timeout);
        }
    }

    private void Received(string? line, StringBuilder into)
    {
        if (line is null)
            return;
        lock (_lock)
        {
            into.AppendLine(line);
            foreach (var wait in _waits.Where(w => (w.From is null || w.From == into) && w.Match(line)).ToList())
            {
                wait.Found.TrySetResult(line);
                _waits.Remove(wait);
            }
        }
    }

    private void FailWaits()
    {
        lock (_lock)
        {
            foreach (var (_, _, found) in _waits)
                found.TrySetException(new InvalidOperationException($"the CLI exited ({_process.ExitCode}) first; stderr:\n{_stderr}"));
            _waits.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
