using TorchSharp;

namespace IcosFl.Learning;

/// <summary>
/// Scalars held for the life of the process. TorchSharp 0.107.0's one-operand overloads (<c>add(Tensor)</c>, the
/// <c>+</c> operator, <c>add_(Scalar)</c>) pass libtorch a temporary alpha of 1 that nothing keeps alive, so the
/// finalizer can free it mid-call (seen as "Expected false to be true" in <c>toFloat</c> from <c>add_</c> during training);
/// call the two-operand overloads with <see cref="One"/> instead.
/// </summary>
internal static class HeldScalars
{
    public static readonly Scalar One = 1.ToScalar();
}
