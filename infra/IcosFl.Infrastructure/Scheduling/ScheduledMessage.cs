using System.Text.Json;

namespace IcosFl.Infrastructure.Scheduling;

/// <summary>
/// A message waiting in Redis for its time: the serialized envelope, where it goes, and the headers
/// of the command that scheduled it (so the delivered message keeps its conversation and correlation).
/// </summary>
public sealed record ScheduledMessage
{
    /// <summary>The scheduling token (a saga's <c>Schedule</c> token id); cancelling uses it.</summary>
    public required Guid TokenId { get; init; }
    public required DateTime ScheduledTimeUtc { get; init; }
    public required Uri Destination { get; init; }
    public required string ContentType { get; init; }
    /// <summary>The message envelope, as MassTransit's serializer wrote it.</summary>
    public required string Body { get; init; }
    public string[] MessageTypes { get; init; } = [];
    public Guid? MessageId { get; init; }
    public Guid? CorrelationId { get; init; }
    public Guid? ConversationId { get; init; }
    public Guid? InitiatorId { get; init; }
    public Guid? RequestId { get; init; }
    public Uri? SourceAddress { get; init; }
    public Uri? ResponseAddress { get; init; }
    public Uri? FaultAddress { get; init; }
    public DateTime? ExpirationTimeUtc { get; init; }
    public Dictionary<string, JsonElement> Headers { get; init; } = [];
    /// <summary>Failed send attempts so far.</summary>
    public int Attempts { get; init; }
}
