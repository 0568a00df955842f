using StrategyNames = IcosFl.Contracts.Strategies;

namespace IcosFl.Controller.Strategies;

/// <summary>Flower's FedYogi: v = v - (1 - β₂)·Δ²·sign(v - Δ²), step eta (no bias correction).</summary>
public sealed class FedYogi(double eta, double etaL, double beta1, double beta2, double tau)
    : FedOpt(eta, etaL, beta1, beta2, tau)
{
    public override string Name => StrategyNames.FedYogi;

    protected override float NextSecondMoment(float previous, float deltaSquared) =>
        previous - ((float)(1 - Beta2) * deltaSquared * MathF.Sign(previous - deltaSquared));
}
