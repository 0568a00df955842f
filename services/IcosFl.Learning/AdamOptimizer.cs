using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace IcosFl.Learning;

/// <summary>
/// Adam as PyTorch 1.13's <c>torch.optim.Adam</c> computes it (single-tensor path, no weight decay, no AMSGrad):
/// m = β₁·m + (1 - β₁)·g, v = β₂·v + (1 - β₂)·g², p -= lr / (1 - β₁ᵗ) · m / (√v / √(1 - β₂ᵗ) + ε).
/// </summary>
/// <remarks>
/// Ours rather than TorchSharp's <c>optim.Adam</c>, because that one (0.107.0) turns every double into a
/// temporary <see cref="Scalar"/> by implicit conversion and reads its native handle without keeping the Scalar
/// alive, so the finalizer may free the native scalar while libtorch still reads it. Seen once in CI as libtorch's
/// "Unknown scalar type" from <c>div(Tensor, Scalar)</c> inside its step (dotnet/TorchSharp PRs 1434 and 1496 are
/// about these implicit Scalars; neither is in 0.107.0). Here every Scalar is held until the native call returns, the
/// hidden alpha of 1 included (<see cref="HeldScalars"/>).
/// </remarks>
internal sealed class AdamOptimizer : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly Tensor[] _firstMoments;
    private readonly Tensor[] _secondMoments;
    private readonly double _learningRate;
    private readonly double _beta1;
    private readonly double _beta2;
    private readonly Scalar _beta1Scalar;
    private readonly Scalar _oneMinusBeta1;
    private readonly Scalar _beta2Scalar;
    private readonly Scalar _oneMinusBeta2;
    private readonly Scalar _epsilon;
    private int _step;

    public AdamOptimizer(IEnumerable<Parameter> parameters, double learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(learningRate > 0) || !double.IsFinite(learningRate))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "the learning rate must be a positive finite number");
        if (beta1 is < 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "beta1 must be in [0, 1)");
        if (beta2 is < 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "beta2 must be in [0, 1)");
        if (!(epsilon >= 0))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be >= 0");

        _parameters = parameters.ToArray();
        (_learningRate, _beta1, _beta2) = (learningRate, beta1, beta2);
        _beta1Scalar = beta1.ToScalar();
        _oneMinusBeta1 = (1 - beta1).ToScalar();
        _beta2Scalar = beta2.ToScalar();
        _oneMinusBeta2 = (1 - beta2).ToScalar();
        _epsilon = epsilon.ToScalar();
        // The moments live as long as the optimiser, whatever dispose scope it was created in.
        using (no_grad())
        {
            _firstMoments = _parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
            _secondMoments = _parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        }
    }

    /// <summary>Steps taken so far (the t of the bias corrections).</summary>
    public int Steps => _step;

    /// <summary>Zeroes every parameter's gradient (PyTorch 1.13's default, <c>set_to_none=False</c>).</summary>
    public void ZeroGrad()
    {
        using var scope = NewDisposeScope();
        foreach (var parameter in _parameters)
            parameter.grad?.zero_();
    }

    /// <summary>One Adam step from the gradients of the last backward pass; a parameter without a gradient is left alone.</summary>
    public void Step()
    {
        _step++;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var biasCorrection2Root = Math.Sqrt(1 - Math.Pow(_beta2, _step)).ToScalar();
        using var negativeStepSize = (-_learningRate / (1 - Math.Pow(_beta1, _step))).ToScalar();
        for (var i = 0; i < _parameters.Length; i++)
        {
            var gradient = _parameters[i].grad;
            if (gradient is null)
                continue;
            _firstMoments[i].mul_(_beta1Scalar).add_(gradient, _oneMinusBeta1);
            _secondMoments[i].mul_(_beta2Scalar).addcmul_(gradient, gradient, _oneMinusBeta2);
            var denominator = _secondMoments[i].sqrt().div_(biasCorrection2Root).add_(_epsilon, HeldScalars.One);
            _parameters[i].addcdiv_(_firstMoments[i], denominator, negativeStepSize);
        }
    }

    public void Dispose()
    {
        foreach (var moment in _firstMoments.Concat(_secondMoments))
            moment.Dispose();
        foreach (var scalar in new[] { _beta1Scalar, _oneMinusBeta1, _beta2Scalar, _oneMinusBeta2, _epsilon })
            scalar.Dispose();
    }
}
