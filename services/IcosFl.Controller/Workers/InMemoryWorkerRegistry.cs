using System.Collections.Concurrent;
using IcosFl.Contracts;

namespace IcosFl.Controller.Workers;

public sealed class InMemoryWorkerRegistry : IWorkerRegistry
{
    private readonly ConcurrentDictionary<string, WorkerInfo> _workers = new(StringComparer.Ordinal);

    public Task RecordHeartbeatAsync(WorkerHeartbeat heartbeat, CancellationToken cancellationToken = default)
    {
        var info = new WorkerInfo(heartbeat.WorkerId, heartbeat.Host, heartbeat.Timestamp, heartbeat.IntervalSeconds,
            heartbeat.DataPoints, Stopped: false);
        // A heartbeat older than the one we hold (reordered delivery) must not roll liveness back.
        _workers.AddOrUpdate(heartbeat.WorkerId, info,
            (_, existing) => existing.LastHeartbeat > heartbeat.Timestamp ? existing : info);
        return Task.CompletedTask;
    }

    public Task RecordStoppingAsync(string workerId, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        _workers.AddOrUpdate(workerId,
            _ => new WorkerInfo(workerId, "", at, 0, new Dictionary<string, int>(), Stopped: true),
            (_, existing) => existing.LastHeartbeat > at ? existing : existing with { Stopped = true });
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<WorkerInfo>> ListAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<WorkerInfo>>(_workers.Values.OrderBy(w => w.WorkerId, StringComparer.Ordinal).ToList());
}
