namespace IcosFl.Controller.Checkpoints;

/// <summary>What saving a round's checkpoint did.</summary>
public sealed record CheckpointSaved(bool Latest, bool Best);

/// <summary>Where a controller keeps each federation's latest and best checkpoints.</summary>
public interface ICheckpointStore
{
    /// <summary>
    /// Saves a round's model as the federation's latest, and as its best when <see cref="Checkpoint.ReplacesBest"/> says so.
    /// Idempotent: the same round saved again overwrites with the same content.
    /// </summary>
    Task<CheckpointSaved> SaveRoundAsync(Checkpoint checkpoint, CancellationToken cancellationToken = default);

    /// <summary>Writes <paramref name="checkpoint"/> as the given kind as it is (imports).</summary>
    Task SaveAsync(Checkpoint checkpoint, CheckpointKind kind, CancellationToken cancellationToken = default);

    /// <summary>The federation's checkpoint of that kind, or null when it has none.</summary>
    Task<Checkpoint?> LoadAsync(Guid federationId, CheckpointKind kind, CancellationToken cancellationToken = default);

    /// <summary>Where the store is (for messages).</summary>
    string Describe(Guid federationId);
}
