namespace IcosFl.Controller.Checkpoints;

/// <summary>
/// Checkpoints on disk: <c>{directory}/{federation-id}/latest.json</c> and <c>best.json</c> (<see cref="CheckpointFile"/>).
/// Every file is written to a temporary file beside it, flushed to disk, then renamed over the old one, so a reader
/// (or a controller restarted after a crash) sees either the old checkpoint or the new one, never part of one.
/// </summary>
public sealed class FileCheckpointStore : ICheckpointStore
{
    /// <summary>The checkpoint folder unless told otherwise: $ICOSFL_CHECKPOINT_DIR, else .icosfl/checkpoints.</summary>
    public static string DefaultDirectory =>
        Environment.GetEnvironmentVariable("ICOSFL_CHECKPOINT_DIR") is { Length: > 0 } d ? d : Path.Combine(".icosfl", "checkpoints");

    // One controller process may aggregate rounds of several federations at once; best-vs-latest is read-then-write.
    private readonly SemaphoreSlim _gate = new(1, 1);

    public FileCheckpointStore(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory = Path.GetFullPath(directory);
    }

    public string Directory { get; }

    public string PathOf(Guid federationId, CheckpointKind kind) =>
        Path.Combine(Directory, federationId.ToString("D"), kind == CheckpointKind.Best ? "best.json" : "latest.json");

    public string Describe(Guid federationId) => Path.Combine(Directory, federationId.ToString("D"));

    public async Task<CheckpointSaved> SaveRoundAsync(Checkpoint checkpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var bytes = CheckpointFile.Serialize(checkpoint);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await WriteAtomicallyAsync(PathOf(checkpoint.FederationId, CheckpointKind.Latest), bytes, cancellationToken);
            var best = await LoadAsync(checkpoint.FederationId, CheckpointKind.Best, cancellationToken);
            if (!Checkpoint.ReplacesBest(best, checkpoint))
                return new CheckpointSaved(true, false);
            await WriteAtomicallyAsync(PathOf(checkpoint.FederationId, CheckpointKind.Best), bytes, cancellationToken);
            return new CheckpointSaved(true, true);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task SaveAsync(Checkpoint checkpoint, CheckpointKind kind, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        await WriteAtomicallyAsync(PathOf(checkpoint.FederationId, kind), CheckpointFile.Serialize(checkpoint), cancellationToken);
    }

    public async Task<Checkpoint?> LoadAsync(Guid federationId, CheckpointKind kind, CancellationToken cancellationToken = default)
    {
        var path = PathOf(federationId, kind);
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(path, cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        return CheckpointFile.Deserialize(bytes, path);
    }

    /// <summary>Reads a checkpoint file by path (<c>icosfl predict --model</c>).</summary>
    public static Checkpoint Load(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"no checkpoint file at {Path.GetFullPath(path)}", path);
        return CheckpointFile.Deserialize(File.ReadAllBytes(path), path);
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> all or nothing: temp file, flush to disk, rename.</summary>
    public static Task WriteAtomicallyAsync(string path, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default) =>
        WriteAtomicallyAsync(path, (stream, ct) => stream.WriteAsync(bytes, ct).AsTask(), cancellationToken);

    /// <summary>
    /// Lets <paramref name="write"/> fill a temporary file in the target's folder, then renames it over the target
    /// (atomic on one file system). Should writing fail, the temporary file is removed and the target is untouched.
    /// </summary>
    public static async Task WriteAtomicallyAsync(string path, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken = default)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        System.IO.Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
            {
                await write(stream, cancellationToken);
                await stream.FlushAsync(cancellationToken);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}
