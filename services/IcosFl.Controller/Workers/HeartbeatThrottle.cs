using System.Collections.Concurrent;

namespace IcosFl.Controller.Workers;

/// <summary>
/// At most one recorded heartbeat per worker per <see cref="ControllerOptions.HeartbeatMinimumGap"/>: a node flooding
/// heartbeats in its own name (its identity is checked before, <see cref="WorkerIdentityFilter{T}"/>) costs the
/// controller a dictionary look-up per extra message instead of a Redis write, so the registry, and with it every other
/// worker's liveness, keeps up. Honest workers beat every heartbeat-interval (10 s by default, far above the gap).
/// </summary>
public sealed class HeartbeatThrottle(ControllerOptions options, TimeProvider clock)
{
    /// <summary>Workers tracked at most; past it, entries quiet for a minute are dropped (bounds a dev-mode flood of ids).</summary>
    private const int MaxTracked = 100_000;

    private static readonly TimeSpan ReportEvery = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, Sender> _senders = new(StringComparer.Ordinal);

    /// <summary>The minimum gap between two recorded heartbeats of one worker.</summary>
    public TimeSpan Gap => options.HeartbeatMinimumGap;

    /// <summary>
    /// Whether this heartbeat of <paramref name="workerId"/> is to be recorded; when not, and a minute has passed since
    /// the worker's last report, <paramref name="dropped"/> is the number dropped since then (to log), else 0.
    /// </summary>
    public bool TryAccept(string workerId, out int dropped)
    {
        dropped = 0;
        var gap = Gap;
        if (gap <= TimeSpan.Zero)
            return true;
        var now = clock.GetUtcNow();
        if (_senders.Count >= MaxTracked)
            Prune(now);
        var sender = _senders.GetOrAdd(workerId, static (_, t) => new Sender(t), now);
        lock (sender)
        {
            if (sender.Accepted is { } last && now - last < gap)
            {
                sender.Dropped++;
                if (now - sender.Reported < ReportEvery)
                    return false;
                dropped = sender.Dropped;
                sender.Dropped = 0;
                sender.Reported = now;
                return false;
            }
            sender.Accepted = now;
            return true;
        }
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var (id, sender) in _senders)
            if (sender.Accepted is { } last && now - last > ReportEvery)
                _senders.TryRemove(id, out _);
    }

    private sealed class Sender(DateTimeOffset created)
    {
        public DateTimeOffset? Accepted;
        public int Dropped;
        public DateTimeOffset Reported = created;
    }
}
