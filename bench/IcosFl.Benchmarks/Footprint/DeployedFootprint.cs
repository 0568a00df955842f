using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using IcosFl.Contracts;
using IcosFl.Infrastructure.Messaging;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RabbitMQ.Client;
using StackExchange.Redis;

namespace IcosFl.Benchmarks.Footprint;

/// <summary>
/// The deployed processes, as an operator runs them: `icosfl controller` and three `icosfl worker` (synthetic data,
/// 2,000 points each, heartbeat every 10 s: the defaults), the CLI built Release (or published ReadyToRun), in a
/// RabbitMQ virtual host and a Redis database of the run's own. Measured per run: controller start to serving (its
/// StartFederation consumer attached, seen by a passive queue declare), each worker's start to its first heartbeat
/// (seen by an observer bound like any consumer; workers started one after another), CPU (utime + stime from
/// /proc/PID/stat) over an idle window right after start and another after a 5-round federation of the three,
/// round 1's overhead (its duration minus the slowest worker's training), and VmRSS / PSS (/proc/PID/smaps_rollup)
/// right after the federation.
/// </summary>
public static class DeployedFootprint
{
    private const int Workers = 3;
    private const int Rounds = 5;
    private const double ControllerIdleTarget = 0.3, WorkerIdleTarget = 0.2, MemoryTargetMiB = 200;
    private const double ServingTargetS = 1.0, HeartbeatTargetS = 0.5, RoundOneTargetMs = 500;

    public sealed record Variant(string Description, IReadOnlyDictionary<string, string> Environment, bool ReadyToRun = false);

    /// <summary>Runtime settings to measure the processes with: environment variables over the built runtimeconfig, or a ReadyToRun publish.</summary>
    public static IReadOnlyDictionary<string, Variant> Variants { get; } = new Dictionary<string, Variant>
    {
        ["built"] = new("as built (Release)", new Dictionary<string, string>()),
        ["r2r"] = new("published ReadyToRun", new Dictionary<string, string>(), ReadyToRun: true),
        // As before the warm-up at start (services/IcosFl.Cli/Commands/WarmUpService.cs): the first round loads TorchSharp.
        ["no-warm-up"] = new("ICOSFL_WARM_UP=0", new Dictionary<string, string> { ["ICOSFL_WARM_UP"] = "0" }),
        ["r2r-no-warm-up"] = new("published ReadyToRun, ICOSFL_WARM_UP=0", new Dictionary<string, string> { ["ICOSFL_WARM_UP"] = "0" }, ReadyToRun: true),
        ["r2r-tiered-compilation-off"] = new("published ReadyToRun, DOTNET_TieredCompilation=0",
            new Dictionary<string, string> { ["DOTNET_TieredCompilation"] = "0" }, ReadyToRun: true),
        // The scheduler as it was before its idle sleep (issue 19): a poll of Redis every 500 ms, idle or not.
        ["scheduler-poll-500ms"] = new("ICOSFL_SCHEDULER_IDLE_POLL=0.5", new Dictionary<string, string> { ["ICOSFL_SCHEDULER_IDLE_POLL"] = "0.5" }),
        // As built before issue 19 switched tiered compilation off (build/IcosFl.Runtime.props).
        ["tiered-compilation-on"] = new("DOTNET_TieredCompilation=1", new Dictionary<string, string> { ["DOTNET_TieredCompilation"] = "1" }),
        ["tiered-pgo-off"] = new("DOTNET_TieredPGO=0", new Dictionary<string, string> { ["DOTNET_TieredPGO"] = "0" }),
        ["tiered-compilation-off"] = new("DOTNET_TieredCompilation=0", new Dictionary<string, string> { ["DOTNET_TieredCompilation"] = "0" }),
        ["conserve-memory"] = new("DOTNET_GCConserveMemory=7", new Dictionary<string, string> { ["DOTNET_GCConserveMemory"] = "7" }),
        ["non-concurrent-gc"] = new("DOTNET_gcConcurrent=0", new Dictionary<string, string> { ["DOTNET_gcConcurrent"] = "0" }),
        ["heap-hard-limit"] = new("DOTNET_GCHeapHardLimit=0xC800000 (200 MiB)", new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0xC800000" }),
        ["wx-off"] = new("DOTNET_EnableWriteXorExecute=0", new Dictionary<string, string> { ["DOTNET_EnableWriteXorExecute"] = "0" }),
        ["gen0-4mib"] = new("DOTNET_GCgen0size=0x400000 (4 MiB)", new Dictionary<string, string> { ["DOTNET_GCgen0size"] = "0x400000" }),
        ["malloc-arenas-2"] = new("MALLOC_ARENA_MAX=2 (glibc)", new Dictionary<string, string> { ["MALLOC_ARENA_MAX"] = "2" }),
        ["server-gc"] = new("DOTNET_gcServer=1", new Dictionary<string, string> { ["DOTNET_gcServer"] = "1" }),
    };

    private sealed record RunFigures(
        double ServingS, double ServingCpuS, double HeartbeatS, double HeartbeatCpuS, double ControllerIdleFirst, double WorkerIdleFirst, double RoundOneOverheadMs,
        double RoundOneMs, double RoundOneSlowestTrainingMs, double LaterRoundMs, double LaterOverheadMs,
        double ControllerRssMiB, double ControllerPssMiB, double WorkerRssMiB, double WorkerPssMiB,
        double ControllerIdleAfter, double WorkerIdleAfter, double LoadAverage, IReadOnlyDictionary<string, double> Trace);

    /// <summary>The steps of the startup trace reported as rows: (process, the step's text starts with, the row's words).</summary>
    private static readonly (string Who, string Step, string Figure)[] TraceSteps =
    [
        ("controller", "main entered", "controller trace: runtime started, Main entered"),
        ("controller", "broker reachable", "controller trace: broker checked, Redis connected"),
        ("controller", "host built", "controller trace: host built (DI, logging, options)"),
        ("controller", "bus ready", "controller trace: bus connected, receive endpoints up"),
        ("controller", "warm-up done", "controller trace: warm-up done (TorchSharp loaded, evaluation path run once)"),
        ("worker", "main entered", "worker trace: runtime started, Main entered (mean of 3)"),
        ("worker", "broker reachable", "worker trace: broker checked (mean of 3)"),
        ("worker", "host built", "worker trace: host built (mean of 3)"),
        ("worker", "bus ready", "worker trace: bus connected, receive endpoint up (mean of 3)"),
        ("worker", "first heartbeat", "worker trace: first heartbeat confirmed by the broker (mean of 3)"),
        ("worker", "warm-up done", "worker trace: warm-up done (TorchSharp loaded, training and evaluation run once) (mean of 3)"),
    ];

    public static async Task<List<FootprintRow>> RunAsync(BenchServers servers, bool quick, IReadOnlyList<string> variants)
    {
        var repo = RepositoryRoot();
        var idle = TimeSpan.FromSeconds(quick ? 20 : 60);
        int runs = quick ? 1 : 3;
        var rows = new List<FootprintRow>();
        foreach (var name in variants)
        {
            var variant = Variants[name];
            var cli = await BuildCliAsync(repo, variant.ReadyToRun);
            var figures = new List<RunFigures>();
            for (int run = 0; run < runs; run++)
            {
                figures.Add(await RunOnceAsync(servers, cli, variant, idle));
                Console.Error.WriteLine($"footprint: {name} run {run + 1}: {figures[^1]}; load {File.ReadAllText("/proc/loadavg").Trim()}");
            }

            FootprintRow Row(string figure, Func<RunFigures, double> value, string unit, string target, double? limit) =>
                new($"{figure} [{name}]", Measure.Median(figures.Select(value).ToList()), unit, target,
                    limit is { } l ? Measure.Median(figures.Select(value).ToList()) <= l : null, figures.Select(value).ToList());

            rows.Add(Row("machine load average (1 min, at the end of a run; other users' builds included)", f => f.LoadAverage, "", "-", null));
            rows.Add(Row("controller start to serving", f => f.ServingS, "s", $"<= {ServingTargetS} s", ServingTargetS));
            rows.Add(Row("controller CPU from start to serving", f => f.ServingCpuS, "s", "-", null));
            rows.Add(Row("worker start to first heartbeat (mean of 3)", f => f.HeartbeatS, "s", $"<= {HeartbeatTargetS} s", HeartbeatTargetS));
            rows.Add(Row("worker CPU from start to first heartbeat (mean of 3)", f => f.HeartbeatCpuS, "s", "-", null));
            foreach (var (_, _, figure) in TraceSteps.Where(t => figures.Any(f => f.Trace.ContainsKey(t.Figure))))
                rows.Add(Row(figure, f => f.Trace.GetValueOrDefault(figure, double.NaN), "ms since process start", "-", null));
            rows.Add(Row("round 1 overhead (round minus slowest training)", f => f.RoundOneOverheadMs, "ms", $"<= {RoundOneTargetMs} ms", RoundOneTargetMs));
            rows.Add(Row("round 1 duration", f => f.RoundOneMs, "ms", "-", null));
            rows.Add(Row("round 1 slowest training", f => f.RoundOneSlowestTrainingMs, "ms", "-", null));
            rows.Add(Row("rounds 2-5 duration, median", f => f.LaterRoundMs, "ms", "-", null));
            rows.Add(Row("rounds 2-5 overhead, median", f => f.LaterOverheadMs, "ms", "-", null));
            rows.Add(Row("controller idle CPU, first minute", f => f.ControllerIdleFirst, "s/min", $"<= {ControllerIdleTarget} s/min", ControllerIdleTarget));
            rows.Add(Row("controller idle CPU, after a run", f => f.ControllerIdleAfter, "s/min", $"<= {ControllerIdleTarget} s/min", ControllerIdleTarget));
            rows.Add(Row("worker idle CPU, first minute (mean of 3)", f => f.WorkerIdleFirst, "s/min", $"<= {WorkerIdleTarget} s/min", WorkerIdleTarget));
            rows.Add(Row("worker idle CPU, after a run (mean of 3)", f => f.WorkerIdleAfter, "s/min", $"<= {WorkerIdleTarget} s/min", WorkerIdleTarget));
            rows.Add(Row("controller VmRSS after the run", f => f.ControllerRssMiB, "MiB", $"<= {MemoryTargetMiB} MiB", MemoryTargetMiB));
            rows.Add(Row("controller PSS after the run", f => f.ControllerPssMiB, "MiB", "-", null));
            rows.Add(Row("worker VmRSS after the run (mean of 3)", f => f.WorkerRssMiB, "MiB", $"<= {MemoryTargetMiB} MiB", MemoryTargetMiB));
            rows.Add(Row("worker PSS after the run (mean of 3)", f => f.WorkerPssMiB, "MiB", "-", null));
        }
        return rows;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "IcosFl.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"footprint: no IcosFl.sln above {AppContext.BaseDirectory}; run from the repository's build");
    }

    /// <summary>The CLI as deployed: a Release build (or ReadyToRun publish) into .icosfl/bench-cli[-r2r]; returns its icosfl.dll.</summary>
    private static async Task<string> BuildCliAsync(string repo, bool readyToRun)
    {
        var output = Path.Combine(repo, ".icosfl", readyToRun ? "bench-cli-r2r" : "bench-cli");
        var project = Path.Combine(repo, "services", "IcosFl.Cli", "IcosFl.Cli.csproj");
        string[] args = readyToRun
            ? ["publish", project, "-c", "Release", "-r", "linux-x64", "--self-contained", "false", "-p:PublishReadyToRun=true", "-o", output, "-nologo", "-v", "q"]
            : ["build", project, "-c", "Release", "-o", output, "-nologo", "-v", "q"];
        var info = new ProcessStartInfo("dotnet", args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var build = Process.Start(info)!;
        var stdout = build.StandardOutput.ReadToEndAsync();
        var stderr = build.StandardError.ReadToEndAsync();
        await build.WaitForExitAsync();
        if (build.ExitCode != 0)
            throw new InvalidOperationException($"footprint: dotnet {string.Join(' ', args)} failed:\n{await stdout}\n{await stderr}");
        return Path.Combine(output, "icosfl.dll");
    }

    private static async Task<RunFigures> RunOnceAsync(BenchServers servers, string cli, Variant variant, TimeSpan idle)
    {
        var vhost = $"icosfl-footprint-{Guid.NewGuid():N}";
        using var management = ManagementClient(servers.Broker);
        var user = Uri.UnescapeDataString(servers.Broker.UserInfo.Split(':')[0]);
        (await management.PutAsync($"api/vhosts/{Uri.EscapeDataString(vhost)}", null)).EnsureSuccessStatusCode();
        (await management.PutAsync($"api/permissions/{Uri.EscapeDataString(vhost)}/{Uri.EscapeDataString(user)}",
            new StringContent("{\"configure\":\".*\",\"write\":\".*\",\"read\":\".*\"}", Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        var broker = new UriBuilder(servers.Broker) { Path = "/" + Uri.EscapeDataString(vhost) }.Uri;
        // A database of the suite's own, emptied first (the registry and the sagas of earlier runs must not be seen).
        const int database = 14;
        foreach (var config in new[] { servers.Redis, servers.PayloadRedis }.Distinct())
        {
            using var redis = await ConnectionMultiplexer.ConnectAsync($"{config},allowAdmin=true");
            foreach (var endpoint in redis.GetEndPoints())
                await redis.GetServer(endpoint).FlushDatabaseAsync(database);
        }

        var logs = Directory.CreateTempSubdirectory("icosfl-footprint-logs-").FullName;
        var observed = new Observed();
        using var observer = await StartObserverAsync(broker, user, observed);
        var processes = new List<Process>();
        try
        {
            string[] common = ["--broker", broker.ToString(), "--redis", $"{servers.Redis},defaultDatabase={database}",
                "--payload-redis", $"{servers.PayloadRedis},defaultDatabase={database}", "--log-dir", logs];
            var started = Stopwatch.StartNew();
            var controller = Start(cli, variant, ["controller", "--data", "synthetic", "--http", "127.0.0.1:0", "--shared-worker-user", user, .. common]);
            processes.Add(controller);
            await WaitServingAsync(broker, controller, TimeSpan.FromSeconds(60));
            double serving = started.Elapsed.TotalSeconds;
            double servingCpu = CpuSeconds(controller.Id);

            var ids = Enumerable.Range(1, Workers).Select(i => $"fp-{vhost[^6..]}-{i}").ToArray();
            var workers = new List<Process>();
            var heartbeatTimes = new List<double>();
            var heartbeatCpu = new List<double>();
            foreach (var id in ids)
            {
                var first = observed.FirstHeartbeat(id);
                var workerStarted = Stopwatch.StartNew();
                // A worker takes the broker only (issue 16): no Redis options.
                var worker = Start(cli, variant, ["worker", "--id", id, "--data", "synthetic", "--broker", broker.ToString(), "--log-dir", logs]);
                processes.Add(worker);
                workers.Add(worker);
                await first.WaitAsync(TimeSpan.FromSeconds(60));
                heartbeatTimes.Add(workerStarted.Elapsed.TotalSeconds);
                heartbeatCpu.Add(CpuSeconds(worker.Id));
            }

            var (controllerIdleFirst, workerIdleFirst) = await IdleCpuAsync(controller, workers, idle, "first minute");
            PrintTrace("the controller", controller);
            for (int i = 0; i < workers.Count; i++)
                PrintTrace($"worker {i + 1}", workers[i]);
            var trace = new Dictionary<string, double>();
            foreach (var (who, step, figure) in TraceSteps)
            {
                var times = (who == "controller" ? [controller] : workers).Select(p => TraceMs(p, step)).Where(t => !double.IsNaN(t)).ToList();
                if (times.Count > 0)
                    trace[figure] = times.Average();
            }

            var federation = Guid.NewGuid();
            var done = observed.Federations.Expect(federation);
            using (var scope = observer.Services.CreateScope())
            {
                await observer.Services.GetRequiredService<IBus>().Publish(new StartFederation
                {
                    FederationId = federation,
                    RequestedBy = "footprint benchmark",
                    RunConfigText = $"num-server-rounds={Rounds} min-fit-clients={Workers} min-available-clients={Workers} min-evaluate-clients={Workers} "
                        + "fraction-fit=1 fraction-evaluate=1",
                });
            }
            var outcome = await done.WaitAsync(TimeSpan.FromMinutes(5));
            if (outcome.Failure is { } failure)
                throw new InvalidOperationException($"footprint: the federation failed: {failure}");
            var rounds = outcome.Rounds;
            if (rounds.Count != Rounds)
                throw new InvalidOperationException($"footprint: {rounds.Count} rounds completed, {Rounds} expected");
            double SlowestTraining(RoundCompleted round) => observed.TrainingMs(round.RoundId).DefaultIfEmpty(0).Max();
            var one = rounds.Single(r => r.Round == 1);
            var later = rounds.Where(r => r.Round > 1).ToList();

            await Task.Delay(TimeSpan.FromSeconds(1));
            var controllerMemory = Memory(controller.Id);
            var workerMemory = workers.Select(w => Memory(w.Id)).ToList();
            var (controllerIdleAfter, workerIdleAfter) = await IdleCpuAsync(controller, workers, idle, "after the run");

            return new RunFigures(serving, servingCpu, heartbeatTimes.Average(), heartbeatCpu.Average(), controllerIdleFirst, workerIdleFirst,
                one.DurationMs - SlowestTraining(one), one.DurationMs, SlowestTraining(one),
                Measure.Median(later.Select(r => r.DurationMs).ToList()), Measure.Median(later.Select(r => r.DurationMs - SlowestTraining(r)).ToList()),
                controllerMemory.RssMiB, controllerMemory.PssMiB, workerMemory.Average(m => m.RssMiB), workerMemory.Average(m => m.PssMiB),
                controllerIdleAfter, workerIdleAfter, LoadAverage(), trace);
        }
        finally
        {
            await StopAllAsync(processes);
            await observer.StopAsync();
            await management.DeleteAsync($"api/vhosts/{Uri.EscapeDataString(vhost)}");
            Directory.Delete(logs, recursive: true);
        }
    }

    private static Process Start(string cli, Variant variant, string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(cli);
        foreach (var a in args)
            info.ArgumentList.Add(a);
        info.Environment.Remove("ICOSFL_PAYLOAD_REDIS");
        info.Environment["ICOSFL_STARTUP_TRACE"] = "1";
        foreach (var (name, value) in variant.Environment)
            info.Environment[name] = value;
        var process = Process.Start(info) ?? throw new InvalidOperationException($"footprint: could not start icosfl {args[0]}");
        var trace = Traces.GetOrAdd(process.Id, _ => new ConcurrentQueue<(double, double, string)>());
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line && line.StartsWith(IcosFl.Infrastructure.Hosting.StartupTrace.Prefix, StringComparison.Ordinal))
                trace.Enqueue(ParseTrace(line));
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Each started process's startup trace (<see cref="IcosFl.Infrastructure.Hosting.StartupTrace"/>): ms since its start, CPU ms, step.</summary>
    private static readonly ConcurrentDictionary<int, ConcurrentQueue<(double Ms, double CpuMs, string Step)>> Traces = new();

    private static (double, double, string) ParseTrace(string line)
    {
        // "icosfl startup: 412 ms, cpu 380 ms: host built"
        var rest = line[IcosFl.Infrastructure.Hosting.StartupTrace.Prefix.Length..];
        var parts = rest.Split(" ms", 3);
        double ms = double.Parse(parts[0], CultureInfo.InvariantCulture);
        double cpu = double.Parse(parts[1][", cpu ".Length..], CultureInfo.InvariantCulture);
        return (ms, cpu, parts[2][": ".Length..]);
    }

    /// <summary>When (ms since its start) the process's trace first shows a step starting with <paramref name="step"/>; NaN if never.</summary>
    private static double TraceMs(Process process, string step) =>
        Traces.TryGetValue(process.Id, out var trace) && trace.FirstOrDefault(t => t.Step.StartsWith(step, StringComparison.Ordinal)) is { Step: not null } hit
            ? hit.Ms : double.NaN;

    private static void PrintTrace(string who, Process process)
    {
        if (Traces.TryGetValue(process.Id, out var trace))
            Console.Error.WriteLine($"footprint: startup trace of {who}: " + string.Join(" | ", trace.Select(t => $"{t.Ms:0} ms (cpu {t.CpuMs:0}) {t.Step}")));
    }

    private static async Task StopAllAsync(List<Process> processes)
    {
        foreach (var process in processes.AsEnumerable().Reverse())
        {
            try
            {
                if (process.HasExited)
                    continue;
                // SIGTERM, as systemd or docker stop would: workers say goodbye.
                Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
                using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                try
                {
                    await process.WaitForExitAsync(exited.Token);
                }
                catch (OperationCanceledException)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
            finally
            {
                process.Dispose();
            }
        }
    }

    /// <summary>Polls (every 10 ms, a passive declare on a fresh channel) until the controller's StartFederation queue has a consumer.</summary>
    private static async Task WaitServingAsync(Uri broker, Process controller, TimeSpan timeout)
    {
        await using var connection = await new ConnectionFactory { Uri = broker }.CreateConnectionAsync();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (controller.HasExited)
                throw new InvalidOperationException($"footprint: the controller exited {controller.ExitCode} before serving");
            await using var channel = await connection.CreateChannelAsync();
            try
            {
                if ((await channel.QueueDeclarePassiveAsync("icosfl-start-federation")).ConsumerCount > 0)
                    return;
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
                // Not declared yet.
            }
            await Task.Delay(10);
        }
        throw new TimeoutException($"footprint: the controller was not serving after {timeout}");
    }

    /// <summary>
    /// CPU seconds per minute of the controller and of the workers (their mean) over the window; on standard error, which
    /// threads spent it (by thread name: .NET's own are ".NET TP Worker", ".NET Tiered Com", ".NET BGC", ...).
    /// </summary>
    private static async Task<(double Controller, double Worker)> IdleCpuAsync(Process controller, List<Process> workers, TimeSpan window, string when)
    {
        var all = workers.Prepend(controller).ToList();
        var before = all.Select(p => CpuSeconds(p.Id)).ToList();
        // Sampled every second, so that a thread which ends within the window still shows what it spent.
        var last = all.Select(p => ThreadCpu(p.Id)).ToList();
        var spentByName = all.Select(_ => new Dictionary<string, double>()).ToList();
        var controllerTimeline = new List<double>();
        var watch = Stopwatch.StartNew();
        double controllerLast = before[0];
        while (watch.Elapsed < window)
        {
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(1, (window - watch.Elapsed).TotalSeconds)));
            for (int i = 0; i < all.Count; i++)
            {
                var now = ThreadCpu(all[i].Id);
                foreach (var (thread, seconds) in now)
                {
                    var delta = seconds - last[i].GetValueOrDefault(thread);
                    if (delta > 0)
                        spentByName[i][thread.Name] = spentByName[i].GetValueOrDefault(thread.Name) + delta;
                }
                last[i] = now;
            }
            var controllerNow = CpuSeconds(controller.Id);
            controllerTimeline.Add(controllerNow - controllerLast);
            controllerLast = controllerNow;
        }
        var after = all.Select(p => CpuSeconds(p.Id)).ToList();
        var perMinute = before.Zip(after, (b, a) => (a - b) * 60 / window.TotalSeconds).ToList();
        for (int i = 0; i < all.Count; i++)
        {
            var spent = spentByName[i].Select(t => (Name: t.Key, PerMinute: t.Value * 60 / window.TotalSeconds)).OrderByDescending(t => t.PerMinute);
            Console.Error.WriteLine($"footprint: idle {when}, {(i == 0 ? "controller" : $"worker {i}")} {perMinute[i]:0.###} s/min: "
                + string.Join(", ", spent.Select(t => $"{t.Name} {t.PerMinute:0.###}")));
        }
        Console.Error.WriteLine($"footprint: idle {when}, controller CPU s per second: {string.Join(" ", controllerTimeline.Select(c => c.ToString("0.##", CultureInfo.InvariantCulture)))}");
        return (perMinute[0], perMinute.Skip(1).Average());
    }

    /// <summary>Each thread's utime + stime (seconds), keyed by thread id and name.</summary>
    private static Dictionary<(int Id, string Name), double> ThreadCpu(int pid)
    {
        var threads = new Dictionary<(int, string), double>();
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var name = stat[(stat.IndexOf('(') + 1)..stat.LastIndexOf(')')];
                threads[(int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture), name)] = TicksOf(stat) / 100.0;
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
        }
        return threads;
    }

    private static long TicksOf(string stat)
    {
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    private static double LoadAverage() => double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);

    /// <summary>utime + stime of /proc/PID/stat, in seconds.</summary>
    public static double CpuSeconds(int pid)
    {
        // After the command name in parentheses (which may hold spaces): state is field 3, utime 14, stime 15.
        return TicksOf(File.ReadAllText($"/proc/{pid}/stat")) / 100.0; // USER_HZ is 100 on Linux
    }

    /// <summary>Rss and Pss of /proc/PID/smaps_rollup, in MiB.</summary>
    public static (double RssMiB, double PssMiB) Memory(int pid)
    {
        double Read(string key) => File.ReadLines($"/proc/{pid}/smaps_rollup")
            .Where(l => l.StartsWith(key + ":", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(key.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024)
            .First();
        return (Read("Rss"), Read("Pss"));
    }

    private static HttpClient ManagementClient(Uri broker)
    {
        var url = Environment.GetEnvironmentVariable("ICOSFL_RABBITMQ_MANAGEMENT") is { Length: > 0 } m ? m
            : Environment.GetEnvironmentVariable("ICOSFL_TEST_RABBITMQ_MANAGEMENT") is { Length: > 0 } t ? t
            : $"http://{broker.Host}:15672";
        var (user, password) = (Uri.UnescapeDataString(broker.UserInfo.Split(':')[0]), Uri.UnescapeDataString(broker.UserInfo.Split(':')[1]));
        var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        return http;
    }

    private static async Task<IHost> StartObserverAsync(Uri broker, string user, Observed observed)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.QuietOnStandardError();
        builder.Services.AddSingleton(observed);
        builder.Services.AddSingleton(observed.Federations);
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o => o.WaitUntilStarted = true);
        builder.Services.AddMassTransit(x =>
        {
            x.AddConsumer<NodeObserver>();
            x.AddConsumer<OverheadSuite.FederationObserver>();
            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(broker);
                cfg.UseIcosFlTopology();
                cfg.UseBrokerUserId(user);
                cfg.ReceiveEndpoint($"icosfl-footprint-observer-{Guid.NewGuid():N}", e =>
                {
                    e.AutoDelete = true;
                    e.Durable = false;
                    e.ConfigureConsumer<NodeObserver>(context);
                    e.ConfigureConsumer<OverheadSuite.FederationObserver>(context);
                });
            });
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>What the overhead suite's observer does not see: heartbeats and each worker's training time.</summary>
    public sealed class NodeObserver(Observed observed) : IConsumer<WorkerHeartbeat>, IConsumer<WeightUpdateSubmitted>
    {
        public Task Consume(ConsumeContext<WorkerHeartbeat> context)
        {
            observed.Heartbeat(context.Message.WorkerId);
            return Task.CompletedTask;
        }

        public Task Consume(ConsumeContext<WeightUpdateSubmitted> context)
        {
            observed.Training(context.Message.RoundId, context.Message.Metrics.DurationMs);
            return Task.CompletedTask;
        }
    }

    /// <summary>Heartbeats and training times; rounds and outcomes in the overhead suite's <see cref="OverheadSuite.Observations"/>.</summary>
    public sealed class Observed
    {
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _heartbeats = new();
        private readonly ConcurrentDictionary<Guid, ConcurrentBag<double>> _training = new();

        public OverheadSuite.Observations Federations { get; } = new();

        public Task FirstHeartbeat(string workerId) => _heartbeats.GetOrAdd(workerId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

        public void Heartbeat(string workerId) => _heartbeats.GetOrAdd(workerId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

        public void Training(Guid roundId, double ms) => _training.GetOrAdd(roundId, _ => []).Add(ms);

        public IEnumerable<double> TrainingMs(Guid roundId) => _training.TryGetValue(roundId, out var all) ? all : [];
    }
}
