namespace IcosFl.Contracts;

/// <summary>
/// Event: an operator revoked a node's broker identity (<c>icosfl node revoke ID</c>): its RabbitMQ user is deleted
/// and its connections closed. The controller drops the worker from the live registry at once, so open rounds stop
/// waiting for it at their next liveness check. Only operator and controller users may publish it (the worker
/// users' write permissions do not name its exchange).
/// </summary>
public sealed record NodeRevoked
{
    public required string WorkerId { get; init; }
    public required DateTimeOffset RevokedAt { get; init; }
    public string? RevokedBy { get; init; }
}
