using StrategyNames = IcosFl.Contracts.Strategies;

namespace IcosFl.Controller.Strategies;

/// <summary>
/// Flower's FedAdam: v = β₂·v + (1 - β₂)·Δ², and the step is bias-corrected as Flower does it,
/// eta · √(1 - β₂^(r+1)) / (1 - β₁^(r+1)) in server round r (1-based).
/// </summary>
public sealed class FedAdam(double eta, double etaL, double beta1, double beta2, double tau)
    : FedOpt(eta, etaL, beta1, beta2, tau)
{
    public override string Name => StrategyNames.FedAdam;

    protected override float NextSecondMoment(float previous, float deltaSquared) =>
        ((float)Beta2 * previous) + ((float)(1 - Beta2) * deltaSquared);

    protected override double StepSize(int round) =>
        Eta * Math.Sqrt(1 - Math.Pow(Beta2, round + 1.0)) / (1 - Math.Pow(Beta1, round + 1.0));
}
