using System.Globalization;
using IcosFl.Contracts;
using IcosFl.Learning;

namespace IcosFl.Controller.Workers;

/// <summary>Points of a worker's scarcest input metric as one heartbeat reported them: where its growth rate is measured from.</summary>
public sealed record PointsSeen(DateTimeOffset At, int Points);

/// <summary>
/// Which live workers can serve a run config: those whose heartbeat reports at least
/// <see cref="SeriesChecks.PointsNeeded"/> points of the forecast metric and of every input metric (the worker's own
/// rule before it trains). When too few are ready, says why, per worker with what it holds and when it should be ready.
/// </summary>
public static class WorkerReadiness
{
    /// <summary>The live and the ready workers (ids, sorted), and why the federation must wait (null when quorum holds).</summary>
    public sealed record Quorum(IReadOnlyList<string> Alive, IReadOnlyList<string> Ready, string? Waiting);

    /// <summary>Workers a round needs: min-available-clients and min-fit-clients, whichever is more.</summary>
    public static int Required(RunConfig config) => Math.Max(config.MinAvailableClients, config.MinFitClients);

    /// <summary>Whether a worker holds enough points of every input metric of <paramref name="config"/>.</summary>
    public static bool IsReady(WorkerInfo worker, RunConfig config)
    {
        var needed = SeriesChecks.PointsNeeded(config);
        return config.InputFeatures().All(metric => Held(worker, metric) >= needed);
    }

    /// <summary>
    /// Judges the registry's workers for <paramref name="config"/>. <paramref name="firstSeen"/> holds, per worker, the
    /// first report seen of its scarcest metric (updated here: added for new workers, reset when a worker's points fell,
    /// as after a restart with an empty store), so that the growth rate and time to readiness can be told.
    /// </summary>
    public static Quorum Assess(IReadOnlyList<WorkerInfo> workers, RunConfig config, DateTimeOffset now, int patience,
        IDictionary<string, PointsSeen> firstSeen)
    {
        ArgumentNullException.ThrowIfNull(workers);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(firstSeen);
        var alive = workers.Where(w => w.IsAlive(now, patience)).OrderBy(w => w.WorkerId, StringComparer.Ordinal).ToList();
        var ready = alive.Where(w => IsReady(w, config)).Select(w => w.WorkerId).ToList();
        foreach (var worker in alive)
        {
            var points = Scarcest(worker, config).Points;
            if (!firstSeen.TryGetValue(worker.WorkerId, out var seen) || points < seen.Points || worker.LastHeartbeat < seen.At)
                firstSeen[worker.WorkerId] = new PointsSeen(worker.LastHeartbeat, points);
        }

        var required = Required(config);
        if (ready.Count >= required)
            return new Quorum(alive.Select(w => w.WorkerId).ToList(), ready, null);

        var needed = SeriesChecks.PointsNeeded(config);
        var metrics = config.InputFeatures();
        var what = metrics.Count == 1 ? $"{metrics[0]} points" : $"points of each of {string.Join(", ", metrics)}";
        var text = new System.Text.StringBuilder(string.Create(CultureInfo.InvariantCulture,
            $"waiting for {required} workers with >= {needed} {what}: " +
            $"{ready.Count} of {alive.Count} alive ready{(ready.Count == 0 ? "" : $" ({Listed(ready)})")}"));
        var readySet = ready.ToHashSet(StringComparer.Ordinal);
        var lacking = alive.Where(w => !readySet.Contains(w.WorkerId)).ToList();
        if (lacking.Count > 0)
            text.Append("; ").AppendJoin("; ", lacking.Take(MaxNamed).Select(w => Describe(w, config, needed, firstSeen.TryGetValue(w.WorkerId, out var first) ? first : null)));
        if (lacking.Count > MaxNamed)
            text.Append(CultureInfo.InvariantCulture, $"; {lacking.Count - MaxNamed} more not ready");
        if (alive.Count < required)
            text.Append(CultureInfo.InvariantCulture, $"; {required - alive.Count} more live worker{(required - alive.Count == 1 ? "" : "s")} needed at least");
        return new Quorum(alive.Select(w => w.WorkerId).ToList(), ready, text.ToString());
    }

    /// <summary>
    /// Workers named one by one in the waiting text, at most: a fleet of fresh nodes would otherwise put thousands in
    /// the saga, the status and every log line.
    /// </summary>
    public const int MaxNamed = 10;

    private static string Listed(IReadOnlyList<string> ids) =>
        ids.Count <= MaxNamed ? string.Join(", ", ids) : $"{string.Join(", ", ids.Take(MaxNamed))} and {ids.Count - MaxNamed} more";

    private static int Held(WorkerInfo worker, string metric) => worker.DataPoints.GetValueOrDefault(metric);

    private static (string Metric, int Points) Scarcest(WorkerInfo worker, RunConfig config) =>
        config.InputFeatures().Select(m => (Metric: m, Points: Held(worker, m))).MinBy(x => x.Points);

    /// <summary>"w1 has 5 (ready in ~2 min at one point every 3 s)", with every metric's count when the model reads several.</summary>
    private static string Describe(WorkerInfo worker, RunConfig config, int needed, PointsSeen? first)
    {
        var metrics = config.InputFeatures();
        var held = metrics.Count == 1
            ? Held(worker, metrics[0]).ToString(CultureInfo.InvariantCulture)
            : string.Join(", ", metrics.Select(m => $"{Held(worker, m).ToString(CultureInfo.InvariantCulture)} {m}"));
        return $"{worker.WorkerId} has {held} ({Eta(Scarcest(worker, config).Points, needed, worker.LastHeartbeat, first)})";
    }

    private static string Eta(int points, int needed, DateTimeOffset at, PointsSeen? first)
    {
        if (first is null || at <= first.At)
            return "growth not measured yet: needs a second heartbeat";
        var seconds = (at - first.At).TotalSeconds;
        var gained = points - first.Points;
        if (gained <= 0)
            return $"not growing: {points} for {Duration(seconds)}";
        var perPoint = seconds / gained;
        return $"ready in ~{Duration((needed - points) * perPoint)} at one point every {Duration(perPoint)}";
    }

    /// <summary>Seconds as an operator reads them: "3 s", "2 min", "1.5 h".</summary>
    internal static string Duration(double seconds)
    {
        var c = CultureInfo.InvariantCulture;
        return seconds switch
        {
            < 10 => $"{seconds.ToString("0.#", c)} s",
            < 90 => $"{Math.Round(seconds).ToString(c)} s",
            < 90 * 60 => $"{Math.Round(seconds / 60).ToString(c)} min",
            < 48 * 3600 => $"{(seconds / 3600).ToString("0.#", c)} h",
            _ => $"{(seconds / 86400).ToString("0.#", c)} days",
        };
    }
}
