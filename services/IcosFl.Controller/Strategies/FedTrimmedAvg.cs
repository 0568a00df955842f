using IcosFl.Contracts;
using StrategyNames = IcosFl.Contracts.Strategies;

namespace IcosFl.Controller.Strategies;

/// <summary>
/// Flower's FedTrimmedAvg (Yin et al. 2018): per coordinate, int(trim-beta · n) of the n values are cut
/// from each end and the rest averaged, example counts ignored.
/// </summary>
public sealed class FedTrimmedAvg(double trimBeta) : FedAvg
{
    public override string Name => StrategyNames.FedTrimmedAvg;

    public double TrimBeta { get; } = trimBeta;

    // A sort puts NaN at one end, so it need not reach the result: scan first.
    protected override bool NonFiniteValuesReachTheResult => false;

    protected override Combination Combine(RoundContext round, ModelWeights global, IReadOnlyList<ClientUpdate> accepted, ModelWeights? serverState) =>
        new(Aggregation.TrimmedMean(accepted.Select(u => u.Weights).ToArray(), TrimBeta), null, accepted, []);
}
