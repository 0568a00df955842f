using IcosFl.Contracts;

namespace IcosFl.Controller.Strategies;

/// <summary>
/// A round's updates cannot be combined into a new global model (none passed validation, or the server
/// state does not fit the model). The round saga turns it into a failed round.
/// </summary>
public sealed class AggregationException : Exception
{
    public AggregationException(string message, IReadOnlyList<RejectedUpdate>? rejected = null)
        : base(message)
    {
        Rejected = rejected ?? [];
    }

    /// <summary>The updates that were refused, each with its reason.</summary>
    public IReadOnlyList<RejectedUpdate> Rejected { get; }
}
