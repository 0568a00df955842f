using IcosFl.Contracts;
using StrategyNames = IcosFl.Contracts.Strategies;

namespace IcosFl.Controller.Strategies;

/// <summary>
/// FedAvg with server momentum (Hsu et al. 2019), Flower's FedAvgM: the pseudo-gradient
/// g = global - FedAvg(updates) drives server SGD in PyTorch's convention,
/// momentum = server-momentum · momentum + g (the first round starts momentum at g),
/// global' = global - server-learning-rate · momentum. With momentum 0 and learning rate 1 it is FedAvg.
/// </summary>
/// <remarks>Server state: "momentum/&lt;tensor&gt;" when server-momentum &gt; 0, otherwise none.</remarks>
public sealed class FedAvgM(double serverLearningRate, double serverMomentum) : FedAvg
{
    internal const string MomentumKind = "momentum";

    public override string Name => StrategyNames.FedAvgM;

    public double ServerLearningRate { get; } = serverLearningRate;

    public double ServerMomentum { get; } = serverMomentum;

    protected override Combination Combine(RoundContext round, ModelWeights global, IReadOnlyList<ClientUpdate> accepted, ModelWeights? serverState)
    {
        var average = Average(accepted);
        if (ServerMomentum <= 0 && ServerLearningRate == 1.0)
        {
            // Flower skips the server step here too, so the result is FedAvg's bit for bit.
            return new(average, null, accepted, []);
        }

        var previous = ServerMomentum > 0 ? ServerState.Read(serverState, MomentumKind, global, Name) : null;
        var learningRate = (float)ServerLearningRate;
        var momentumFactor = (float)ServerMomentum;
        var tensors = new NamedTensor[global.Tensors.Count];
        var momentum = new float[global.Tensors.Count][];
        for (var t = 0; t < tensors.Length; t++)
        {
            var old = global.Tensors[t].Data;
            var averaged = average.Tensors[t].Data;
            var step = new float[old.Length];
            for (var i = 0; i < old.Length; i++)
            {
                var pseudoGradient = old[i] - averaged[i];
                step[i] = previous is null ? pseudoGradient : (momentumFactor * previous[t][i]) + pseudoGradient;
            }

            var next = new float[old.Length];
            for (var i = 0; i < old.Length; i++)
            {
                next[i] = old[i] - (learningRate * step[i]);
            }

            momentum[t] = step;
            tensors[t] = global.Tensors[t] with { Data = next };
        }

        var state = ServerMomentum > 0 ? new ModelWeights(ServerState.Named(MomentumKind, global, momentum).ToArray()) : null;
        return new(new ModelWeights(tensors), state, accepted, []);
    }
}
