namespace IcosFl.Learning;

/// <summary>The series is too short to cut at least one training and one test window at this config.</summary>
public sealed class InsufficientDataException : Exception
{
    public InsufficientDataException(int held, int needed, string detail)
        : base($"The series holds {held} points but {needed} are needed ({detail}).")
    {
        Held = held;
        Needed = needed;
    }

    public int Held { get; }

    public int Needed { get; }
}
