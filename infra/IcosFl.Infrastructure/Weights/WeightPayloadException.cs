namespace IcosFl.Infrastructure.Weights;

/// <summary>
/// A weights payload that cannot be encoded, fetched or decoded. The message names the tensor
/// (index and name when known) and what is wrong with it.
/// </summary>
public sealed class WeightPayloadException : Exception
{
    public WeightPayloadException(string message, string? tensorName = null, int? tensorIndex = null, Exception? innerException = null)
        : base(message, innerException)
    {
        TensorName = tensorName;
        TensorIndex = tensorIndex;
    }

    /// <summary>Name of the offending tensor, when it was read before the problem was found.</summary>
    public string? TensorName { get; }

    /// <summary>Position of the offending tensor in the payload's tensor list.</summary>
    public int? TensorIndex { get; }
}
