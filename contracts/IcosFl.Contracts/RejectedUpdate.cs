namespace IcosFl.Contracts;

/// <summary>An update (or a refusal) that did not go into a round's aggregate, and why.</summary>
public sealed record RejectedUpdate(string WorkerId, string Reason);
