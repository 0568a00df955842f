using System.Globalization;

namespace IcosFl.Contracts;

/// <summary>
/// The run-config keys: ICOS-FL's kebab-case names for every <see cref="RunConfig"/> property, each with
/// a one-line description and the values it accepts (for CLI help, the README and error messages).
/// </summary>
public static class RunConfigKeys
{
    // ICOS-FL keys
    public const string NumServerRounds = "num-server-rounds";
    public const string FractionFit = "fraction-fit";
    public const string FractionEvaluate = "fraction-evaluate";
    public const string MinFitClients = "min-fit-clients";
    public const string MinEvaluateClients = "min-evaluate-clients";
    public const string MinAvailableClients = "min-available-clients";
    public const string HiddenLayerSize = "hidden-layer-size";
    public const string TimeStep = "time-step";
    public const string NumLayers = "num-layers";
    public const string Metric = "metric";
    public const string InputMetrics = "input-metrics";
    public const string BatchSize = "batch-size";
    public const string TrainTestSplit = "train-test-split";
    public const string LocalEpochs = "local-epochs";
    public const string LearningRate = "learning-rate";

    // IcosFl keys
    public const string RoundTimeout = "round-timeout";
    public const string RoundRetries = "round-retries";
    public const string RoundRetryDelay = "round-retry-delay";
    public const string QuorumTimeout = "quorum-timeout";
    public const string Seed = "seed";
    public const string ForecastHorizon = "forecast-horizon";

    // Strategy keys (Flower's names)
    public const string Strategy = "strategy";
    public const string ProximalMu = "proximal-mu";
    public const string ServerLearningRate = "server-learning-rate";
    public const string ServerMomentum = "server-momentum";
    public const string Eta = "eta";
    public const string EtaL = "eta-l";
    public const string Beta1 = "beta-1";
    public const string Beta2 = "beta-2";
    public const string Tau = "tau";
    public const string TrimBeta = "trim-beta";
    public const string NumMaliciousClients = "num-malicious-clients";
    public const string NumClientsToKeep = "num-clients-to-keep";
    public const string MaxUpdateNorm = "max-update-norm";
    public const string ClipNorm = "clip-norm";
    public const string NoiseMultiplier = "noise-multiplier";

    /// <summary>Every key, in the order of <see cref="RunConfig"/>'s properties.</summary>
    /// <summary>
    /// The keys as a Markdown table (`icosfl run-config --markdown`); docs/run-configuration.md holds this very
    /// table, and a test keeps the two the same.
    /// </summary>
    public static string MarkdownTable()
    {
        var table = new System.Text.StringBuilder();
        table.Append("| key | default | accepted | meaning |\n| --- | --- | --- | --- |\n");
        foreach (var k in All)
            table.Append($"| `{k.Name}` | {(k.DefaultValue.Length == 0 ? "`\"\"` (none)" : $"`{k.DefaultValue}`")} | {k.Accepted} | {k.Description} |\n");
        return table.ToString();
    }

    public static IReadOnlyList<RunConfigKey> All { get; } =
    [
        RunConfigKey.Int(NumServerRounds, "Federated training rounds to run", 1, c => c.NumServerRounds, (c, v) => c with { NumServerRounds = v }),
        RunConfigKey.Number(FractionFit, "Fraction of alive workers sampled to train each round", Interval.ZeroExclusiveToOne, c => c.FractionFit, (c, v) => c with { FractionFit = v }),
        RunConfigKey.Number(FractionEvaluate, "Fraction of alive workers sampled to evaluate each round (0 = no federated evaluation, as Flower)", Interval.ZeroToOne, c => c.FractionEvaluate, (c, v) => c with { FractionEvaluate = v }),
        RunConfigKey.Int(MinFitClients, "Fewest workers that must train in a round", 1, c => c.MinFitClients, (c, v) => c with { MinFitClients = v }),
        RunConfigKey.Int(MinEvaluateClients, "Fewest workers that must evaluate in a round", 1, c => c.MinEvaluateClients, (c, v) => c with { MinEvaluateClients = v }),
        RunConfigKey.Int(MinAvailableClients, "Workers that must be alive before a round starts", 1, c => c.MinAvailableClients, (c, v) => c with { MinAvailableClients = v }),
        RunConfigKey.Int(HiddenLayerSize, "LSTM hidden units per layer", 1, c => c.HiddenLayerSize, (c, v) => c with { HiddenLayerSize = v }),
        RunConfigKey.Int(TimeStep, "Past points in each input window (one point every 3 s)", 1, c => c.TimeStep, (c, v) => c with { TimeStep = v }),
        RunConfigKey.Int(NumLayers, "Stacked LSTM layers", 1, c => c.NumLayers, (c, v) => c with { NumLayers = v }),
        RunConfigKey.Choice(Metric, "Node metric to forecast", Metrics.All, c => c.Metric, (c, v) => c with { Metric = v }),
        RunConfigKey.MetricList(InputMetrics, "Other metrics the model reads beside the forecast one, comma-separated (empty = univariate)", Metrics.All,
            c => c.InputMetrics, (c, v) => c with { InputMetrics = v }, c => c.Metric),
        RunConfigKey.Int(BatchSize, "Windows per training batch", 1, c => c.BatchSize, (c, v) => c with { BatchSize = v }),
        RunConfigKey.Number(TrainTestSplit, "Share of each node's data used for training; the rest is held out", Interval.Open01, c => c.TrainTestSplit, (c, v) => c with { TrainTestSplit = v }),
        RunConfigKey.Int(LocalEpochs, "Passes over the local training data per round", 1, c => c.LocalEpochs, (c, v) => c with { LocalEpochs = v }),
        RunConfigKey.Number(LearningRate, "Learning rate of local training (Adam)", Interval.Positive, c => c.LearningRate, (c, v) => c with { LearningRate = v }),
        RunConfigKey.Number(RoundTimeout, "Seconds a round waits for updates before aggregating what arrived", Interval.Positive, c => c.RoundTimeout, (c, v) => c with { RoundTimeout = v }),
        RunConfigKey.Int(RoundRetries, "Times a failed round is retried before the federation fails", 0, c => c.RoundRetries, (c, v) => c with { RoundRetries = v }),
        RunConfigKey.Number(RoundRetryDelay, "Seconds before the first retry of a failed round; each further retry of that round waits twice as long, at most 60 s (or this value if larger); 0 = retry at once", Interval.NonNegative, c => c.RoundRetryDelay, (c, v) => c with { RoundRetryDelay = v }),
        RunConfigKey.Number(QuorumTimeout, "Seconds a federation waits for enough ready workers (alive, holding enough points of every input metric for this config) before a round, then fails naming what is missing; 0 = wait without limit", Interval.NonNegative, c => c.QuorumTimeout, (c, v) => c with { QuorumTimeout = v }),
        RunConfigKey.Int(Seed, "Seed for worker sampling, initial weights and shuffling", null, c => c.Seed, (c, v) => c with { Seed = v }),
        RunConfigKey.Int(ForecastHorizon, "Steps ahead a multi-step forecast reaches (100 x 3 s = 5 minutes)", 1, c => c.ForecastHorizon, (c, v) => c with { ForecastHorizon = v }),
        RunConfigKey.Choice(Strategy, "Aggregation strategy", Strategies.All, c => c.Strategy, (c, v) => c with { Strategy = v }),
        RunConfigKey.Number(ProximalMu, "FedProx: weight of the proximal term (0 behaves as FedAvg)", Interval.NonNegative, c => c.ProximalMu, (c, v) => c with { ProximalMu = v }),
        RunConfigKey.Number(ServerLearningRate, "FedAvgM: server-side learning rate", Interval.Positive, c => c.ServerLearningRate, (c, v) => c with { ServerLearningRate = v }),
        RunConfigKey.Number(ServerMomentum, "FedAvgM: server-side momentum (0 = none)", Interval.ZeroToOneExclusive, c => c.ServerMomentum, (c, v) => c with { ServerMomentum = v }),
        RunConfigKey.Number(Eta, "FedAdam/FedYogi/FedAdagrad: server-side learning rate", Interval.Positive, c => c.Eta, (c, v) => c with { Eta = v }),
        RunConfigKey.Number(EtaL, "FedAdam/FedYogi/FedAdagrad: client-side learning rate", Interval.Positive, c => c.EtaL, (c, v) => c with { EtaL = v }),
        RunConfigKey.Number(Beta1, "FedAdam/FedYogi: first-moment decay", Interval.ZeroToOneExclusive, c => c.Beta1, (c, v) => c with { Beta1 = v }),
        RunConfigKey.Number(Beta2, "FedAdam/FedYogi: second-moment decay", Interval.ZeroToOneExclusive, c => c.Beta2, (c, v) => c with { Beta2 = v }),
        RunConfigKey.Number(Tau, "FedAdam/FedYogi/FedAdagrad: adaptivity (added to the denominator)", Interval.Positive, c => c.Tau, (c, v) => c with { Tau = v }),
        RunConfigKey.Number(TrimBeta, "FedTrimmedAvg: fraction cut from each end before averaging", Interval.ZeroToHalfExclusive, c => c.TrimBeta, (c, v) => c with { TrimBeta = v }),
        RunConfigKey.Int(NumMaliciousClients, "Krum/MultiKrum: Byzantine workers to tolerate", 0, c => c.NumMaliciousClients, (c, v) => c with { NumMaliciousClients = v }),
        RunConfigKey.Int(NumClientsToKeep, "MultiKrum: updates averaged after selection (0 = all that Krum keeps)", 0, c => c.NumClientsToKeep, (c, v) => c with { NumClientsToKeep = v }),
        RunConfigKey.Number(MaxUpdateNorm, "Reject an update whose L2 distance from the global model exceeds this (0 = no limit)", Interval.NonNegative, c => c.MaxUpdateNorm, (c, v) => c with { MaxUpdateNorm = v }),
        RunConfigKey.Number(ClipNorm, "Clip each update's delta to this L2 norm on the server (0 = off)", Interval.NonNegative, c => c.ClipNorm, (c, v) => c with { ClipNorm = v }),
        RunConfigKey.Number(NoiseMultiplier, "Gaussian noise on the aggregate, stddev = noise-multiplier x clip-norm / participants (0 = off)", Interval.NonNegative, c => c.NoiseMultiplier, (c, v) => c with { NoiseMultiplier = v }),
    ];

    private static readonly Dictionary<string, RunConfigKey> ByName = All.ToDictionary(k => k.Name, StringComparer.Ordinal);

    /// <summary>The key of a name in kebab-case or snake_case (num_server_rounds), any letter case; null when unknown.</summary>
    public static RunConfigKey? Find(string name) =>
        ByName.GetValueOrDefault(Normalize(name));

    /// <summary>The names of a comma-separated metric list ("" gives none); names are trimmed, empty ones kept so validation can name them.</summary>
    public static IReadOnlyList<string> SplitMetricList(string? list) =>
        string.IsNullOrWhiteSpace(list) ? [] : list.Split(',').Select(name => name.Trim()).ToArray();

    /// <summary>Lower case, '_' as '-', so both Flower spellings meet the same key.</summary>
    internal static string Normalize(string name) => name.Trim().ToLowerInvariant().Replace('_', '-');
}

/// <summary>One run-config key: its name, what it means, what it accepts, and how it reads and sets a <see cref="RunConfig"/>.</summary>
public sealed class RunConfigKey
{
    private readonly Func<RunConfig, string> read;
    private readonly Func<RunConfig, string, RunConfig?> tryApply;
    private readonly Func<RunConfig, bool> isValid;
    private readonly IReadOnlyList<string>? choices;
    private readonly Func<RunConfig, string?>? problemOf;

    private RunConfigKey(string name, string description, string accepted, IReadOnlyList<string>? choices,
        Func<RunConfig, string> read, Func<RunConfig, string, RunConfig?> tryApply, Func<RunConfig, bool> isValid,
        Func<RunConfig, string?>? problemOf = null)
    {
        this.problemOf = problemOf;
        Name = name;
        Description = description;
        Accepted = accepted;
        this.choices = choices;
        this.read = read;
        this.tryApply = tryApply;
        this.isValid = isValid;
    }

    /// <summary>The kebab-case name, as in ICOS-FL's pyproject (num-server-rounds).</summary>
    public string Name { get; }

    /// <summary>The snake_case alias (num_server_rounds).</summary>
    public string SnakeCaseName => Name.Replace('-', '_');

    public string Description { get; }

    /// <summary>What the key accepts, as a phrase: "an integer >= 1", "a number in (0, 1]", "one of fedavg, fedprox, ...".</summary>
    public string Accepted { get; }

    /// <summary>The value in <see cref="RunConfig.Default"/>, formatted as <see cref="ValueOf"/> does.</summary>
    public string DefaultValue => ValueOf(RunConfig.Default);

    /// <summary>The key's value in a config as an invariant-culture string that parses back to the same value.</summary>
    public string ValueOf(RunConfig config) => read(config);

    public override string ToString() => Name;

    /// <summary>The config with this key set from text, or null when the text is not a value of the key's type.</summary>
    internal RunConfig? TryApply(RunConfig config, string value) => tryApply(config, value);

    internal bool IsValid(RunConfig config) => isValid(config);

    /// <summary>The message for a rejected value, quoting the value as it was given.</summary>
    internal string Problem(string given) => choices is null
        ? $"run-config key '{Name}': must be {Accepted}, got '{given}'"
        : $"run-config key '{Name}': '{given}' is not one of {string.Join(", ", choices)}";

    /// <summary>The message for a value that is invalid in <paramref name="config"/>, saying what exactly is wrong when the key knows.</summary>
    internal string Problem(RunConfig config, string given) => problemOf?.Invoke(config) is { } problem
        ? $"run-config key '{Name}': {problem}, got '{given}'"
        : Problem(given);

    internal static RunConfigKey Int(string name, string description, int? minimum, Func<RunConfig, int> get, Func<RunConfig, int, RunConfig> set) =>
        new(name, description,
            minimum is { } min ? $"an integer >= {min}" : "an integer",
            null,
            c => get(c).ToString(CultureInfo.InvariantCulture),
            (c, text) => int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? set(c, v) : null,
            c => minimum is null || get(c) >= minimum);

    internal static RunConfigKey Number(string name, string description, Interval interval, Func<RunConfig, double> get, Func<RunConfig, double, RunConfig> set) =>
        new(name, description,
            interval.Describe(),
            null,
            c => FormatNumber(get(c)),
            (c, text) => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? set(c, v) : null,
            c => interval.Contains(get(c)));

    internal static RunConfigKey Choice(string name, string description, IReadOnlyList<string> choices, Func<RunConfig, string> get, Func<RunConfig, string, RunConfig> set) =>
        new(name, description,
            "one of " + string.Join(", ", choices),
            choices,
            get,
            // Any letter case is accepted ("FedAvg"); the canonical spelling is stored.
            (c, text) => set(c, choices.FirstOrDefault(choice => string.Equals(choice, text, StringComparison.OrdinalIgnoreCase)) ?? text),
            c => choices.Contains(get(c)));

    /// <summary>
    /// A comma-separated list of distinct <paramref name="choices"/> other than the value of <paramref name="excluded"/>
    /// (the forecast metric); stored trimmed, each name in its canonical spelling, "" for none.
    /// </summary>
    internal static RunConfigKey MetricList(string name, string description, IReadOnlyList<string> choices,
        Func<RunConfig, string> get, Func<RunConfig, string, RunConfig> set, Func<RunConfig, string> excluded)
    {
        string? ProblemOf(RunConfig config)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var metric in RunConfigKeys.SplitMetricList(get(config)))
            {
                if (metric.Length == 0)
                    return "a metric name is empty (two commas in a row, or one at an end)";
                if (!choices.Contains(metric))
                    return $"'{metric}' is not one of {string.Join(", ", choices)}";
                if (metric == excluded(config))
                    return $"'{metric}' is the forecast metric (key '{RunConfigKeys.Metric}'), which is always the model's first input; list only other metrics";
                if (!seen.Add(metric))
                    return $"'{metric}' is listed twice";
            }

            return null;
        }

        return new(name, description,
            "a comma-separated list of " + string.Join(", ", choices) + " other than metric, or empty",
            null,
            get,
            (c, text) => set(c, string.Join(",", RunConfigKeys.SplitMetricList(text)
                .Select(m => choices.FirstOrDefault(choice => string.Equals(choice, m, StringComparison.OrdinalIgnoreCase)) ?? m))),
            c => ProblemOf(c) is null,
            ProblemOf);
    }

    /// <summary>Shortest round-trip form, always with a '.' or exponent so TOML reads it as a float.</summary>
    private static string FormatNumber(double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        return double.IsFinite(value) && !text.Contains('.') && !text.Contains('E') ? text + ".0" : text;
    }
}

/// <summary>An interval of accepted numbers; finite numbers only.</summary>
internal sealed record Interval(double Low, bool LowInclusive, double? High, bool HighInclusive)
{
    public static Interval Positive { get; } = new(0, false, null, false);
    public static Interval NonNegative { get; } = new(0, true, null, false);
    public static Interval ZeroExclusiveToOne { get; } = new(0, false, 1, true);
    public static Interval ZeroToOne { get; } = new(0, true, 1, true);
    public static Interval Open01 { get; } = new(0, false, 1, false);
    public static Interval ZeroToOneExclusive { get; } = new(0, true, 1, false);
    public static Interval ZeroToHalfExclusive { get; } = new(0, true, 0.5, false);

    public bool Contains(double value) =>
        double.IsFinite(value)
        && (LowInclusive ? value >= Low : value > Low)
        && (High is not { } high || (HighInclusive ? value <= high : value < high));

    public string Describe()
    {
        static string F(double v) => v.ToString(CultureInfo.InvariantCulture);
        return High is { } high
            ? $"a number in {(LowInclusive ? "[" : "(")}{F(Low)}, {F(high)}{(HighInclusive ? "]" : ")")}"
            : $"a number {(LowInclusive ? ">=" : ">")} {F(Low)}";
    }
}
