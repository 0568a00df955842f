using System.Diagnostics;
using System.Globalization;
using MassTransit;

namespace IcosFl.Infrastructure.Hosting;

/// <summary>
/// With ICOSFL_STARTUP_TRACE=1, a node writes one line to standard error at each step of its start (and of its
/// warm-up): the wall-clock milliseconds since the process started (the kernel's start time, so the .NET host's own
/// start is counted) and the CPU milliseconds spent so far. The footprint benchmark reads them
/// (docs/benchmarks.md): <c>icosfl startup: 412 ms, cpu 380 ms: host built</c>. Off, it costs one flag test.
/// </summary>
public static class StartupTrace
{
    public const string Prefix = "icosfl startup: ";

    public static bool Enabled { get; } = Environment.GetEnvironmentVariable("ICOSFL_STARTUP_TRACE") is "1" or "true";

    public static void Mark(string step)
    {
        if (!Enabled)
            return;
        using var self = Process.GetCurrentProcess();
        var since = DateTime.Now - self.StartTime;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Prefix}{since.TotalMilliseconds:0} ms, cpu {self.TotalProcessorTime.TotalMilliseconds:0} ms: {step}"));
    }

    /// <summary>Marks the bus's start and the moment it is connected with its endpoints up.</summary>
    public sealed class BusObserver : IBusObserver
    {
        public void PostCreate(IBus bus) => Mark("bus created");

        public void CreateFaulted(Exception exception)
        {
        }

        public Task PreStart(IBus bus)
        {
            Mark("bus starting");
            return Task.CompletedTask;
        }

        public async Task PostStart(IBus bus, Task<BusReady> busReady)
        {
            Mark("bus started");
            try
            {
                await busReady;
                Mark("bus ready (connected, receive endpoints up)");
            }
            catch (Exception e)
            {
                Mark($"bus not ready: {e.GetType().Name}");
            }
        }

        public Task StartFaulted(IBus bus, Exception exception) => Task.CompletedTask;

        public Task PreStop(IBus bus) => Task.CompletedTask;

        public Task PostStop(IBus bus) => Task.CompletedTask;

        public Task StopFaulted(IBus bus, Exception exception) => Task.CompletedTask;
    }
}
