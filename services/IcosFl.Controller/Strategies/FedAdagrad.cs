using StrategyNames = IcosFl.Contracts.Strategies;

namespace IcosFl.Controller.Strategies;

/// <summary>
/// Flower's FedAdagrad: v = v + Δ², step eta. As in Flower, β₁ and β₂ are fixed at 0 (so m = Δ);
/// the run config's beta-1 and beta-2 do not apply.
/// </summary>
public sealed class FedAdagrad(double eta, double etaL, double tau)
    : FedOpt(eta, etaL, beta1: 0.0, beta2: 0.0, tau)
{
    public override string Name => StrategyNames.FedAdagrad;

    protected override float NextSecondMoment(float previous, float deltaSquared) => previous + deltaSquared;
}
