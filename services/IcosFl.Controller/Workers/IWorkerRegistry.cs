using IcosFl.Contracts;

namespace IcosFl.Controller.Workers;

/// <summary>The live-worker registry, fed by heartbeats. In memory when embedded, in Redis when deployed.</summary>
public interface IWorkerRegistry
{
    Task RecordHeartbeatAsync(WorkerHeartbeat heartbeat, CancellationToken cancellationToken = default);
    Task RecordStoppingAsync(string workerId, DateTimeOffset at, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<WorkerInfo>> ListAsync(CancellationToken cancellationToken = default);
}

public static class WorkerRegistryExtensions
{
    /// <summary>Ids of the workers alive now, sorted.</summary>
    public static async Task<IReadOnlyList<string>> AliveAsync(
        this IWorkerRegistry registry, DateTimeOffset now, int patience, CancellationToken cancellationToken = default)
    {
        var all = await registry.ListAsync(cancellationToken);
        return all.Where(w => w.IsAlive(now, patience)).Select(w => w.WorkerId).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Ids of the workers alive now that hold enough data for <paramref name="config"/> (<see cref="WorkerReadiness"/>), sorted.</summary>
    public static async Task<IReadOnlyList<string>> ReadyAsync(
        this IWorkerRegistry registry, DateTimeOffset now, int patience, RunConfig config, CancellationToken cancellationToken = default)
    {
        var all = await registry.ListAsync(cancellationToken);
        return all.Where(w => w.IsAlive(now, patience) && WorkerReadiness.IsReady(w, config))
            .Select(w => w.WorkerId).Order(StringComparer.Ordinal).ToList();
    }
}
