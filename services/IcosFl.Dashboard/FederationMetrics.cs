using System.Diagnostics.Metrics;

namespace IcosFl.Dashboard;

/// <summary>
/// The controller's instruments (System.Diagnostics.Metrics, exported by OpenTelemetry at /metrics).
/// One instance per controller host; its meter goes away with the host.
/// </summary>
public sealed class FederationMetrics : IDisposable
{
    public const string MeterName = "IcosFl";

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _roundsCompleted;
    private readonly Counter<long> _roundsFailed;
    private readonly Histogram<double> _roundDuration;
    private readonly Counter<long> _updatesReceived;
    private readonly Counter<long> _updatesRejected;
    private readonly Counter<long> _weightBytes;
    private int _workersAlive;

    public FederationMetrics()
    {
        _roundsCompleted = _meter.CreateCounter<long>("icosfl.rounds.completed", "{round}", "Rounds aggregated into a new global model");
        _roundsFailed = _meter.CreateCounter<long>("icosfl.rounds.failed", "{round}", "Round attempts that failed (too few updates, aggregation error)");
        _roundDuration = _meter.CreateHistogram<double>("icosfl.round.duration", "s", "Time from opening a round to its new global model",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600] });
        _updatesReceived = _meter.CreateCounter<long>("icosfl.updates.received", "{update}", "Weight updates received from workers");
        _updatesRejected = _meter.CreateCounter<long>("icosfl.updates.rejected", "{update}",
            "Selected workers whose update was rejected, declined or never came (per completed round)");
        _weightBytes = _meter.CreateCounter<long>("icosfl.weights", "By",
            "Bytes of model weights moved: out = global models sent to train or evaluate, in = updates received");
        _meter.CreateObservableGauge("icosfl.workers.alive", () => Volatile.Read(ref _workersAlive), "{worker}",
            "Workers whose heartbeats are on time");
    }

    /// <summary>
    /// Records a zero on every counter, so a scrape shows "no failures yet" rather than no series at all.
    /// Call once the exporter listens: measurements made before that are not seen.
    /// </summary>
    public void StartFromZero()
    {
        _roundsCompleted.Add(0);
        _roundsFailed.Add(0);
        _updatesReceived.Add(0);
        _updatesRejected.Add(0);
    }

    public void RoundCompleted(double durationMs, int rejected)
    {
        _roundsCompleted.Add(1);
        _roundDuration.Record(durationMs / 1000.0);
        if (rejected > 0)
            _updatesRejected.Add(rejected);
    }

    public void RoundFailed() => _roundsFailed.Add(1);

    public void UpdateReceived(long bytes)
    {
        _updatesReceived.Add(1);
        _weightBytes.Add(bytes, new KeyValuePair<string, object?>("direction", "in"));
    }

    public void WeightsSent(long bytes) => _weightBytes.Add(bytes, new KeyValuePair<string, object?>("direction", "out"));

    /// <summary>Set from the worker registry just before each scrape (the registry is async; a gauge callback is not).</summary>
    public void WorkersAlive(int count) => Volatile.Write(ref _workersAlive, count);

    public void Dispose() => _meter.Dispose();
}
