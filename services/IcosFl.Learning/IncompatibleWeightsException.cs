namespace IcosFl.Learning;

/// <summary>Weights that do not fit the model of a config: names missing or unexpected, or shapes wrong.</summary>
public sealed class IncompatibleWeightsException : Exception
{
    public IncompatibleWeightsException(
        IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> mismatched, string model)
        : base(Describe(missing, unexpected, mismatched, model))
    {
        Missing = missing;
        Unexpected = unexpected;
        Mismatched = mismatched;
    }

    /// <summary>Tensor names the model needs and the weights lack.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Tensor names the weights carry and the model does not have (or carries twice).</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>One line per tensor whose shape or data length is wrong.</summary>
    public IReadOnlyList<string> Mismatched { get; }

    private static string Describe(
        IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> mismatched, string model)
    {
        var parts = new List<string>();
        if (missing.Count > 0)
        {
            parts.Add("missing: " + string.Join(", ", missing));
        }

        if (unexpected.Count > 0)
        {
            parts.Add("unexpected: " + string.Join(", ", unexpected));
        }

        if (mismatched.Count > 0)
        {
            parts.Add("wrong: " + string.Join("; ", mismatched));
        }

        return $"The weights do not fit {model}: {string.Join("; ", parts)}.";
    }
}
