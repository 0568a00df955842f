using IcosFl.Contracts;
using StrategyNames = IcosFl.Contracts.Strategies;

namespace IcosFl.Controller.Strategies;

/// <summary>
/// FedProx (Li et al. 2018), as Flower's: the server side is FedAvg; the proximal term
/// (mu/2)·‖w - w_global‖² is added to each worker's local loss by the learning core from
/// <see cref="RunConfig.ProximalMu"/>, which travels to workers with the round's config.
/// </summary>
public sealed class FedProx(double proximalMu) : FedAvg
{
    public override string Name => StrategyNames.FedProx;

    public double ProximalMu { get; } = proximalMu;
}
