using IcosFl.Contracts;
using StrategyNames = IcosFl.Contracts.Strategies;

namespace IcosFl.Controller.Strategies;

/// <summary>
/// Builds the strategy a run config names (run-config key "strategy", case-insensitive), checking the keys
/// it uses; with clip-norm &gt; 0 the strategy is wrapped in
/// <see cref="DifferentialPrivacyServerSideFixedClipping"/>.
/// </summary>
public static class StrategyFactory
{
    /// <exception cref="ArgumentException">Unknown strategy name or a key out of range; the message names the key.</exception>
    public static IStrategy Create(RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        CheckCommonKeys(config);
        var name = (config.Strategy ?? string.Empty).Trim().ToLowerInvariant();
        IStrategy strategy = name switch
        {
            StrategyNames.FedAvg => new FedAvg(),
            StrategyNames.FedProx => new FedProx(NonNegative(config.ProximalMu, "proximal-mu")),
            StrategyNames.FedAvgM => new FedAvgM(
                NonNegative(config.ServerLearningRate, "server-learning-rate"),
                NonNegative(config.ServerMomentum, "server-momentum")),
            StrategyNames.FedAdam => new FedAdam(Eta(config), EtaL(config), Beta(config.Beta1, "beta-1"), Beta(config.Beta2, "beta-2"), Tau(config)),
            StrategyNames.FedYogi => new FedYogi(Eta(config), EtaL(config), Beta(config.Beta1, "beta-1"), Beta(config.Beta2, "beta-2"), Tau(config)),
            StrategyNames.FedAdagrad => new FedAdagrad(Eta(config), EtaL(config), Tau(config)),
            StrategyNames.FedMedian => new FedMedian(),
            StrategyNames.FedTrimmedAvg => new FedTrimmedAvg(
                config.TrimBeta is >= 0 and < 0.5
                    ? config.TrimBeta
                    : throw new ArgumentException($"Run-config key \"trim-beta\" must be in [0, 0.5); got {config.TrimBeta}.")),
            StrategyNames.Krum => new Krum(
                NonNegative(config.NumMaliciousClients, "num-malicious-clients"),
                NonNegative(config.NumClientsToKeep, "num-clients-to-keep")),
            StrategyNames.MultiKrum => new MultiKrum(
                NonNegative(config.NumMaliciousClients, "num-malicious-clients"),
                config.NumClientsToKeep >= 1
                    ? config.NumClientsToKeep
                    : throw new ArgumentException(
                        $"Strategy \"multikrum\" needs run-config key \"num-clients-to-keep\" >= 1 (how many lowest-score updates to average); got {config.NumClientsToKeep}. Use \"krum\" to keep one.")),
            _ => throw new ArgumentException(
                $"Unknown strategy '{config.Strategy}' (run-config key \"strategy\"); known: {string.Join(", ", StrategyNames.All)}.",
                nameof(config)),
        };

        if (config.ClipNorm > 0)
        {
            return new DifferentialPrivacyServerSideFixedClipping(strategy, config.ClipNorm, config.NoiseMultiplier);
        }

        return config.NoiseMultiplier > 0
            ? throw new ArgumentException(
                $"Run-config key \"noise-multiplier\" ({config.NoiseMultiplier}) needs \"clip-norm\" > 0: the noise is scaled by the clipping norm.")
            : strategy;
    }

    private static void CheckCommonKeys(RunConfig config)
    {
        Fraction(config.FractionFit, "fraction-fit");
        Fraction(config.FractionEvaluate, "fraction-evaluate");
        NonNegative(config.MinFitClients, "min-fit-clients");
        NonNegative(config.MinEvaluateClients, "min-evaluate-clients");
        NonNegative(config.MaxUpdateNorm, "max-update-norm");
        NonNegative(config.ClipNorm, "clip-norm");
        NonNegative(config.NoiseMultiplier, "noise-multiplier");
    }

    private static double Eta(RunConfig config) => NonNegative(config.Eta, "eta");

    // Only reported to workers in Flower's FedOpt; checked so a typo does not pass silently.
    private static double EtaL(RunConfig config) => NonNegative(config.EtaL, "eta-l");

    private static double Tau(RunConfig config) =>
        double.IsFinite(config.Tau) && config.Tau > 0
            ? config.Tau
            : throw new ArgumentException($"Run-config key \"tau\" must be > 0 (it keeps m / (√v + tau) finite where v is 0); got {config.Tau}.");

    private static double Beta(double value, string key) =>
        value is >= 0 and < 1
            ? value
            : throw new ArgumentException($"Run-config key \"{key}\" must be in [0, 1); got {value}.");

    private static double Fraction(double value, string key) =>
        value is >= 0 and <= 1
            ? value
            : throw new ArgumentException($"Run-config key \"{key}\" must be in [0, 1]; got {value}.");

    private static double NonNegative(double value, string key) =>
        double.IsFinite(value) && value >= 0
            ? value
            : throw new ArgumentException($"Run-config key \"{key}\" must be a finite number >= 0; got {value}.");

    private static int NonNegative(int value, string key) =>
        value >= 0 ? value : throw new ArgumentException($"Run-config key \"{key}\" must be >= 0; got {value}.");
}
