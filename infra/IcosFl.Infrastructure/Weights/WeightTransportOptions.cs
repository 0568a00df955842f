namespace IcosFl.Infrastructure.Weights;

/// <summary>When weights travel inside a message and how long claim-checked weights are kept.</summary>
public sealed record WeightTransportOptions
{
    /// <summary>
    /// Encoded weights up to this many bytes travel inline; larger ones go by claim check
    /// (RabbitMQ.Client refuses bodies over 64 MiB by default, and big messages slow the broker).
    /// </summary>
    public long InlineThresholdBytes { get; init; } = 1024 * 1024;

    /// <summary>How long a claim-checked payload stays fetchable.</summary>
    public TimeSpan ClaimCheckTimeToLive { get; init; } = TimeSpan.FromHours(24);
}
