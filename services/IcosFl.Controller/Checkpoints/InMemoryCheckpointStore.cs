using System.Collections.Concurrent;

namespace IcosFl.Controller.Checkpoints;

/// <summary>Checkpoints kept in the process (the default when no checkpoint folder is configured, and the saga tests).</summary>
public sealed class InMemoryCheckpointStore : ICheckpointStore
{
    private readonly ConcurrentDictionary<(Guid, CheckpointKind), Checkpoint> _checkpoints = new();
    private readonly Lock _gate = new();

    public Task<CheckpointSaved> SaveRoundAsync(Checkpoint checkpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        lock (_gate)
        {
            _checkpoints[(checkpoint.FederationId, CheckpointKind.Latest)] = checkpoint;
            var best = _checkpoints.GetValueOrDefault((checkpoint.FederationId, CheckpointKind.Best));
            if (!Checkpoint.ReplacesBest(best, checkpoint))
                return Task.FromResult(new CheckpointSaved(true, false));
            _checkpoints[(checkpoint.FederationId, CheckpointKind.Best)] = checkpoint;
            return Task.FromResult(new CheckpointSaved(true, true));
        }
    }

    public Task SaveAsync(Checkpoint checkpoint, CheckpointKind kind, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        _checkpoints[(checkpoint.FederationId, kind)] = checkpoint;
        return Task.CompletedTask;
    }

    public Task<Checkpoint?> LoadAsync(Guid federationId, CheckpointKind kind, CancellationToken cancellationToken = default) =>
        Task.FromResult(_checkpoints.GetValueOrDefault((federationId, kind)));

    public string Describe(Guid federationId) => $"memory ({federationId})";
}
