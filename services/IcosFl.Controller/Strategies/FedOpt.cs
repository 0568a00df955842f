using IcosFl.Contracts;

namespace IcosFl.Controller.Strategies;

/// <summary>
/// Adaptive federated optimisation (Reddi et al. 2020), Flower's FedOpt family: with
/// Δ = FedAvg(updates) - global, m = β₁·m + (1 - β₁)·Δ and a strategy-specific second moment v, both
/// starting from zeros in the first round, global' = global + step · m / (√v + τ).
/// eta-l is the workers' learning rate in the paper and, as in Flower, is not used on the server.
/// </summary>
/// <remarks>
/// Server state: "m/&lt;tensor&gt;" then "v/&lt;tensor&gt;" for every model tensor. m and v are float32 like
/// Flower's arrays; the step of each element is computed in double and rounded once.
/// </remarks>
public abstract class FedOpt(double eta, double etaL, double beta1, double beta2, double tau) : FedAvg
{
    internal const string FirstMomentKind = "m";
    internal const string SecondMomentKind = "v";

    public double Eta { get; } = eta;
    public double EtaL { get; } = etaL;
    public double Beta1 { get; } = beta1;
    public double Beta2 { get; } = beta2;
    public double Tau { get; } = tau;

    /// <summary>v from its previous value and Δ² (all float32, as Flower's arrays).</summary>
    protected abstract float NextSecondMoment(float previous, float deltaSquared);

    /// <summary>The server learning rate used in <paramref name="round"/> (FedAdam corrects it for bias).</summary>
    protected virtual double StepSize(int round) => Eta;

    protected sealed override Combination Combine(RoundContext round, ModelWeights global, IReadOnlyList<ClientUpdate> accepted, ModelWeights? serverState)
    {
        var average = Average(accepted);
        var previousM = ServerState.Read(serverState, FirstMomentKind, global, Name);
        var previousV = ServerState.Read(serverState, SecondMomentKind, global, Name);
        var beta1 = (float)Beta1;
        var oneMinusBeta1 = (float)(1 - Beta1);
        var step = StepSize(round.Round);

        var tensors = new NamedTensor[global.Tensors.Count];
        var m = new float[tensors.Length][];
        var v = new float[tensors.Length][];
        for (var t = 0; t < tensors.Length; t++)
        {
            var current = global.Tensors[t].Data;
            var averaged = average.Tensors[t].Data;
            var length = current.Length;
            m[t] = new float[length];
            v[t] = new float[length];
            var next = new float[length];
            for (var i = 0; i < length; i++)
            {
                var delta = averaged[i] - current[i];
                var mPrevious = previousM?[t][i] ?? 0f;
                var vPrevious = previousV?[t][i] ?? 0f;
                var mi = (beta1 * mPrevious) + (oneMinusBeta1 * delta);
                var vi = NextSecondMoment(vPrevious, delta * delta);
                m[t][i] = mi;
                v[t][i] = vi;
                next[i] = (float)(current[i] + (step * mi / (Math.Sqrt(vi) + Tau)));
            }

            tensors[t] = global.Tensors[t] with { Data = next };
        }

        var state = new ModelWeights(
            [.. ServerState.Named(FirstMomentKind, global, m), .. ServerState.Named(SecondMomentKind, global, v)]);
        return new(new ModelWeights(tensors), state, accepted, []);
    }
}
