namespace IcosFl.Contracts;

/// <summary>
/// A federation's run configuration. Keys and defaults follow ICOS-FL's pyproject run-config
/// (kebab-case names in <see cref="RunConfigKeys"/>); strategy keys follow Flower's names.
/// </summary>
public sealed record RunConfig
{
    // ICOS-FL keys
    public int NumServerRounds { get; init; } = 10;
    public double FractionFit { get; init; } = 1.0;
    public double FractionEvaluate { get; init; } = 1.0;
    public int MinFitClients { get; init; } = 2;
    public int MinEvaluateClients { get; init; } = 2;
    public int MinAvailableClients { get; init; } = 2;
    public int HiddenLayerSize { get; init; } = 10;
    public int TimeStep { get; init; } = 10;
    public int NumLayers { get; init; } = 1;
    public string Metric { get; init; } = Metrics.CpuUsage;
    /// <summary>
    /// Other metrics the model reads beside <see cref="Metric"/>, comma-separated in input order ("" = univariate,
    /// as ICOS-FL). A string rather than a list so that the record keeps value equality on the wire.
    /// </summary>
    public string InputMetrics { get; init; } = "";
    public int BatchSize { get; init; } = 64;
    public double TrainTestSplit { get; init; } = 0.8;
    /// <summary>
    /// ICOS-FL documents 100; IcosFl defaults to 5 so the default simulation finishes in seconds.
    /// Raise it for real fleets (local data grows by 28,800 points a day at 3 s).
    /// </summary>
    public int LocalEpochs { get; init; } = 5;
    public double LearningRate { get; init; } = 0.001;

    // IcosFl keys
    /// <summary>Seconds a round waits for updates before aggregating what arrived.</summary>
    public double RoundTimeout { get; init; } = 120;
    /// <summary>How many times a failed round is retried before the federation fails.</summary>
    public int RoundRetries { get; init; } = 3;
    /// <summary>
    /// Seconds before the first retry of a failed round; each further retry of the same round waits twice as long,
    /// at most <see cref="MaxRoundRetryDelay"/> seconds (or this delay itself when larger). 0 retries at once.
    /// </summary>
    public double RoundRetryDelay { get; init; } = 5;
    /// <summary>
    /// Seconds a federation waits for enough ready workers (alive and holding enough points for this run config)
    /// before a round, then fails naming what was missing; 0 waits without limit.
    /// </summary>
    public double QuorumTimeout { get; init; } = 600;
    public int Seed { get; init; } = 42;
    /// <summary>Steps ahead a forecast reaches (100 x 3 s = 5 minutes, as ICOS-FL promises).</summary>
    public int ForecastHorizon { get; init; } = 100;

    // Strategy keys (Flower's names and defaults)
    public string Strategy { get; init; } = Strategies.FedAvg;
    public double ProximalMu { get; init; } = 0.0;
    public double ServerLearningRate { get; init; } = 1.0;
    public double ServerMomentum { get; init; } = 0.0;
    public double Eta { get; init; } = 0.1;
    public double EtaL { get; init; } = 0.1;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.99;
    public double Tau { get; init; } = 0.001;
    public double TrimBeta { get; init; } = 0.2;
    public int NumMaliciousClients { get; init; } = 0;
    public int NumClientsToKeep { get; init; } = 0;
    /// <summary>Reject an update whose L2 norm of (update - global) exceeds this; 0 = no limit.</summary>
    public double MaxUpdateNorm { get; init; } = 0.0;
    /// <summary>Server-side fixed clipping of each update's delta; 0 = off.</summary>
    public double ClipNorm { get; init; } = 0.0;
    /// <summary>Gaussian noise stddev on the aggregate = noise-multiplier x clip-norm / participants; 0 = off.</summary>
    public double NoiseMultiplier { get; init; } = 0.0;

    public static RunConfig Default { get; } = new();

    /// <summary>The longest a retry waits, unless round-retry-delay itself is longer.</summary>
    public const double MaxRoundRetryDelay = 60;

    /// <summary>
    /// Seconds to wait before attempt <paramref name="attempt"/> (2 = the first retry) of a round: round-retry-delay,
    /// doubled for each further retry, at most <see cref="MaxRoundRetryDelay"/> s or round-retry-delay if that is longer.
    /// </summary>
    public double RetryDelayBefore(int attempt)
    {
        if (attempt < 2 || RoundRetryDelay <= 0)
            return 0;
        var cap = Math.Max(MaxRoundRetryDelay, RoundRetryDelay);
        // 2^(attempt-2), without overflowing for a large round-retries.
        var doublings = Math.Min(attempt - 2, 30);
        return Math.Min(cap, RoundRetryDelay * Math.Pow(2, doublings));
    }

    /// <summary>The input-metrics as names, in order; empty for a univariate model.</summary>
    public IReadOnlyList<string> ExtraInputMetrics() => RunConfigKeys.SplitMetricList(InputMetrics);

    /// <summary>The model's input features in order: the forecast metric first, then the input-metrics.</summary>
    public IReadOnlyList<string> InputFeatures() => [Metric, .. ExtraInputMetrics()];
}
