using IcosFl.Contracts;
using StrategyNames = IcosFl.Contracts.Strategies;

namespace IcosFl.Controller.Strategies;

/// <summary>
/// Builds the strategy a run config names (run-config key "strategy", case-insensitive); with clip-norm &gt; 0 the
/// strategy is wrapped in <see cref="DifferentialPrivacyServerSideFixedClipping"/>. The config is checked by the one
/// run-config validator (<see cref="RunConfigParser.Validate"/>), not here.
/// </summary>
public static class StrategyFactory
{
    /// <exception cref="ArgumentException">The config is not valid (<see cref="RunConfigParser.Validate"/>); the message names every bad key.</exception>
    public static IStrategy Create(RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (RunConfigParser.Validate(config) is { Count: > 0 } problems)
            throw new ArgumentException(string.Join("; ", problems.Select(p => p.Message)), nameof(config));

        IStrategy strategy = (config.Strategy ?? string.Empty).Trim().ToLowerInvariant() switch
        {
            StrategyNames.FedAvg => new FedAvg(),
            StrategyNames.FedProx => new FedProx(config.ProximalMu),
            StrategyNames.FedAvgM => new FedAvgM(config.ServerLearningRate, config.ServerMomentum),
            StrategyNames.FedAdam => new FedAdam(config.Eta, config.EtaL, config.Beta1, config.Beta2, config.Tau),
            StrategyNames.FedYogi => new FedYogi(config.Eta, config.EtaL, config.Beta1, config.Beta2, config.Tau),
            StrategyNames.FedAdagrad => new FedAdagrad(config.Eta, config.EtaL, config.Tau),
            StrategyNames.FedMedian => new FedMedian(),
            StrategyNames.FedTrimmedAvg => new FedTrimmedAvg(config.TrimBeta),
            StrategyNames.Krum => new Krum(config.NumMaliciousClients, config.NumClientsToKeep),
            StrategyNames.MultiKrum => new MultiKrum(config.NumMaliciousClients, config.NumClientsToKeep),
            // The validator knows the same names (Strategies.All); a name it passed and this does not is a bug here.
            var name => throw new InvalidOperationException($"strategy '{name}' passed validation but has no implementation"),
        };

        return config.ClipNorm > 0
            ? new DifferentialPrivacyServerSideFixedClipping(strategy, config.ClipNorm, config.NoiseMultiplier)
            : strategy;
    }
}

/// <summary>
/// The strategy a federation's run config gets, as the round's flow asks for it: <see cref="ConfiguredStrategies"/>
/// (the run config's "strategy", by <see cref="StrategyFactory"/>) unless a host registers another before
/// AddIcosFlControllerServices.
/// </summary>
public interface IStrategyProvider
{
    IStrategy For(RunConfig config);
}

/// <summary>The strategy the run config names (<see cref="StrategyFactory.Create"/>).</summary>
public sealed class ConfiguredStrategies : IStrategyProvider
{
    public IStrategy For(RunConfig config) => StrategyFactory.Create(config);
}
