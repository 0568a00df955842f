using IcosFl.Dashboard;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace IcosFl.Cli.Simulation;

/// <summary>Tells the operator where the simulation's dashboard is, and keeps it up after the run until Ctrl-C.</summary>
public static class DashboardAnnouncement
{
    public static async Task WriteAsync(IServiceProvider services, TextWriter progress, Guid federationId)
    {
        if (services.GetService<DashboardServer>() is not { } server)
            return;
        try
        {
            var address = await server.Address;
            lock (progress)
                progress.WriteLine($"dashboard: {new Uri(address, $"federations/{federationId}")}");
        }
        catch (InvalidOperationException e)
        {
            lock (progress)
                progress.WriteLine($"no dashboard: {e.Message}");
        }
    }

    /// <summary>Returns at once without a dashboard; else when <paramref name="cancellationToken"/> fires (Ctrl-C, SIGTERM).</summary>
    public static async Task ServeUntilCancelledAsync(IServiceProvider services, TextWriter progress, CancellationToken cancellationToken)
    {
        if (services.GetService<DashboardServer>() is not { } server || !server.Address.IsCompletedSuccessfully)
            return;
        lock (progress)
            progress.WriteLine($"the dashboard stays up at {server.Address.Result}: Ctrl-C to stop");
        // The host's console lifetime takes Ctrl-C and SIGTERM for itself and only says so through ApplicationStopping.
        var stopping = services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopping);
        try
        {
            await Task.Delay(Timeout.Infinite, either.Token);
        }
        catch (OperationCanceledException)
        {
            // Ctrl-C: the normal way out.
        }
    }
}
