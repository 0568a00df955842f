using IcosFl.Contracts;
using StrategyNames = IcosFl.Contracts.Strategies;

namespace IcosFl.Controller.Strategies;

/// <summary>
/// Krum (Blanchard et al. 2017), as Flower's Krum: every update gets a score, the sum of its squared
/// distances to its n - f - 2 closest updates (f = num-malicious-clients); the lowest-scoring update
/// becomes the model. With num-clients-to-keep k &gt; 0 (Flower's Krum, and <see cref="MultiKrum"/>)
/// the k lowest-scoring updates are averaged by example count instead.
/// Updates not kept are reported among the rejected ones, with their score.
/// </summary>
public class Krum(int numMaliciousClients, int numClientsToKeep) : FedAvg
{
    public override string Name => StrategyNames.Krum;

    public int NumMaliciousClients { get; } = numMaliciousClients;

    /// <summary>How many lowest-scoring updates are averaged; 0 means 1 (classic Krum).</summary>
    public int NumClientsToKeep { get; } = numClientsToKeep;

    // A NaN distance would upset the scores rather than reach the result: scan first.
    protected sealed override bool NonFiniteValuesReachTheResult => false;

    protected sealed override Combination Combine(RoundContext round, ModelWeights global, IReadOnlyList<ClientUpdate> accepted, ModelWeights? serverState)
    {
        var scores = Aggregation.KrumScores(accepted.Select(u => u.Weights).ToArray(), NumMaliciousClients);
        var keep = Math.Min(Math.Max(1, NumClientsToKeep), accepted.Count);
        var kept = Aggregation.LowestScores(scores, keep);
        var used = kept.Select(i => accepted[i]).ToArray();
        var closest = Math.Min(Math.Max(1, accepted.Count - NumMaliciousClients - 2), accepted.Count - 1);
        var leftOut = Enumerable.Range(0, accepted.Count)
            .Where(i => !kept.Contains(i))
            .Select(i => new RejectedUpdate(
                accepted[i].WorkerId,
                $"left out by {Name}: score {scores[i]:G6} (sum of squared distances to its {closest} closest updates) is not among the {keep} lowest"))
            .ToArray();
        return new(Average(used), null, used, leftOut);
    }
}

/// <summary>Multi-Krum: <see cref="Krum"/> averaging the num-clients-to-keep (at least 1) lowest-scoring updates.</summary>
public sealed class MultiKrum(int numMaliciousClients, int numClientsToKeep) : Krum(numMaliciousClients, numClientsToKeep)
{
    public override string Name => StrategyNames.MultiKrum;
}
