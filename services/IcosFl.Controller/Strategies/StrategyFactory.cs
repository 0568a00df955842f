using IcosFl.Contracts;
using StrategyNames = IcosFl.Contracts.Strategies;

namespace IcosFl.Controller.Strategies;

/// <summary>Builds the strategy a run config names (run-config key "strategy"), checking its keys.</summary>
public static class StrategyFactory
{
    /// <exception cref="ArgumentException">Unknown strategy name or a strategy key out of range; the message names the key.</exception>
    public static IStrategy Create(RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        CheckSamplingKeys(config);
        var name = (config.Strategy ?? string.Empty).Trim().ToLowerInvariant();
        IStrategy strategy = name switch
        {
            StrategyNames.FedAvg => new FedAvg(),
            StrategyNames.FedProx => new FedProx(NonNegative(config.ProximalMu, "proximal-mu")),
            _ => throw new ArgumentException(
                $"Unknown strategy '{config.Strategy}' (run-config key \"strategy\"); known: {string.Join(", ", StrategyNames.All)}.",
                nameof(config)),
        };
        return strategy;
    }

    private static void CheckSamplingKeys(RunConfig config)
    {
        Fraction(config.FractionFit, "fraction-fit");
        Fraction(config.FractionEvaluate, "fraction-evaluate");
        NonNegative(config.MinFitClients, "min-fit-clients");
        NonNegative(config.MinEvaluateClients, "min-evaluate-clients");
        NonNegative(config.MaxUpdateNorm, "max-update-norm");
    }

    private static double Fraction(double value, string key) =>
        value is >= 0 and <= 1
            ? value
            : throw new ArgumentException($"Run-config key \"{key}\" must be in [0, 1]; got {value}.");

    private static double NonNegative(double value, string key) =>
        double.IsFinite(value) && value >= 0
            ? value
            : throw new ArgumentException($"Run-config key \"{key}\" must be a finite number >= 0; got {value}.");
}
