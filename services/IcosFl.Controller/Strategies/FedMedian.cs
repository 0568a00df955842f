using IcosFl.Contracts;
using StrategyNames = IcosFl.Contracts.Strategies;

namespace IcosFl.Controller.Strategies;

/// <summary>Flower's FedMedian (Yin et al. 2018): the coordinate-wise median of the updates, example counts ignored.</summary>
public sealed class FedMedian : FedAvg
{
    public override string Name => StrategyNames.FedMedian;

    // A sort puts NaN at one end, so it need not reach the result: scan first.
    protected override bool NonFiniteValuesReachTheResult => false;

    protected override Combination Combine(RoundContext round, ModelWeights global, IReadOnlyList<ClientUpdate> accepted, ModelWeights? serverState) =>
        new(Aggregation.Median(accepted.Select(u => u.Weights).ToArray()), null, accepted, []);
}
