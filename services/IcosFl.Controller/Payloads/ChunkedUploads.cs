using System.Collections.Concurrent;
using System.Security.Cryptography;
using IcosFl.Contracts;
using IcosFl.Infrastructure.Weights;
using Microsoft.Extensions.Logging;

namespace IcosFl.Controller.Payloads;

/// <summary>How a chunked upload ended: complete (its verified length and digest) or refused (why, naming the chunk).</summary>
public sealed record UploadOutcome(long Length, string? Digest, string? Problem)
{
    public static UploadOutcome Refused(string problem) => new(0, null, problem);
}

/// <summary>
/// Workers' large updates arriving as <see cref="WeightChunk"/> messages (issue 16: workers reach only the broker). Each
/// transfer is stored in the controller's own claim-check store under <see cref="KeyOf"/>, a key made from the
/// broker-authenticated worker (the identity filter has checked the chunk's WorkerId against its broker user) and the
/// transfer id, never from anything else the worker wrote. Chunks must come 0, 1, 2, ... and end with a final message
/// whose length and SHA-256 digest match what arrived: a missing, reordered, duplicated or tampered chunk ends the
/// transfer, its stored chunks are removed and the reason (naming the worker, the transfer and the chunk) is logged and
/// kept for the update that names the transfer (<see cref="WaitAsync"/>). Chunks of one transfer are handed in one at a
/// time, in arrival order (<see cref="WeightChunkConsumer"/>); the state of transfers in progress lives in
/// this process: chunks a restarted controller receives of a transfer begun before are refused as out of order.
/// </summary>
public sealed class ChunkedUploads(IClaimCheckStore store, WeightTransportOptions transportOptions, TimeProvider clock, ILogger<ChunkedUploads> logger)
{
    /// <summary>Where uploaded updates are stored: this prefix, the worker id and the transfer id.</summary>
    public const string KeyPrefix = "icosfl:weights:upload:";

    /// <summary>A transfer not touched for this long is forgotten (and what it stored removed, if it never completed).</summary>
    public static readonly TimeSpan IdleLimit = TimeSpan.FromMinutes(10);

    private readonly ConcurrentDictionary<string, Transfer> transfers = new(StringComparer.Ordinal);
    private long lastSweepTicks;

    /// <summary>The key of a worker's transfer in the controller's store.</summary>
    public static string KeyOf(string workerId, Guid transferId) => $"{KeyPrefix}{workerId}:{transferId:N}";

    /// <summary>Transfers known to this process (in progress, or ended and not yet claimed by their update).</summary>
    public int Count => transfers.Count;

    /// <summary>Takes one chunk (or the final message) of a transfer; the worker id has been checked against the broker user.</summary>
    public async Task AcceptAsync(WeightChunk chunk, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        Sweep();
        var key = KeyOf(chunk.WorkerId, chunk.TransferId);
        var transfer = transfers.GetOrAdd(key, _ => new Transfer(clock.GetUtcNow()));
        transfer.Touched = clock.GetUtcNow();
        if (transfer.Outcome.Task.IsCompleted)
        {
            logger.LogDebug("Chunk {Index} of transfer {TransferId} from worker {WorkerId} ignored: the transfer has already ended ({Outcome})",
                chunk.Index, chunk.TransferId, chunk.WorkerId, transfer.Outcome.Task.Result.Problem ?? "complete");
            return;
        }

        if (Problem(chunk, transfer) is { } problem)
        {
            await RefuseAsync(chunk, transfer, problem);
            return;
        }

        if (!chunk.Last)
        {
            transfer.Upload ??= store.BeginPut(key, transportOptions.ClaimCheckTimeToLive, cancellationToken);
            transfer.Hash.AppendData(chunk.Bytes);
            transfer.Length += chunk.Bytes.Length;
            transfer.Next++;
            try
            {
                await transfer.Upload.AppendAsync(chunk.Bytes);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                await RefuseAsync(chunk, transfer, $"the controller could not store it: {e.Message}");
            }
            return;
        }

        var digest = Convert.ToHexStringLower(transfer.Hash.GetCurrentHash());
        if (!string.Equals(digest, chunk.Digest, StringComparison.Ordinal))
        {
            await RefuseAsync(chunk, transfer,
                $"digest mismatch: the final message declares SHA-256 {chunk.Digest}, the {transfer.Next} chunks that arrived hash to {digest}: a chunk was altered, replaced or reordered");
            return;
        }

        try
        {
            if (transfer.Upload is { } upload)
                await upload.CompleteAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await RefuseAsync(chunk, transfer, $"the controller could not store it: {e.Message}");
            return;
        }

        transfer.Hash.Dispose();
        logger.LogDebug("Transfer {TransferId} from worker {WorkerId} complete: {Chunks} chunks, {Length} bytes, SHA-256 {Digest}",
            chunk.TransferId, chunk.WorkerId, transfer.Next, transfer.Length, digest);
        transfer.Outcome.TrySetResult(new UploadOutcome(transfer.Length, digest, null));
    }

    /// <summary>Why a chunk cannot be taken at this point of its transfer, or null.</summary>
    private static string? Problem(WeightChunk chunk, Transfer transfer)
    {
        if (chunk.Index < transfer.Next)
            return $"chunk {chunk.Index} arrived twice (duplicate): chunks 0 to {transfer.Next - 1} had already arrived";
        if (chunk.Index > transfer.Next)
        {
            return chunk.Last
                ? $"the final message says {chunk.Index} chunks were sent, only {transfer.Next} arrived: chunk {transfer.Next} is missing"
                : $"chunk {chunk.Index} arrived when chunk {transfer.Next} was expected: chunk {transfer.Next} is missing or the chunks are out of order";
        }

        if (chunk.Last)
        {
            if (chunk.Digest is null)
                return $"the worker abandoned the transfer after {chunk.Index} chunks";
            if (chunk.Bytes.Length != 0)
                return $"the final message (index {chunk.Index}) carries {chunk.Bytes.Length} bytes, it must carry none";
            if (chunk.Length != transfer.Length)
                return $"length mismatch: the final message declares {chunk.Length?.ToString() ?? "no length"}, the {transfer.Next} chunks held {transfer.Length} bytes";
            if (transfer.Next == 0)
                return "the transfer holds no chunk";
            return null;
        }

        if (chunk.Bytes.Length == 0 || chunk.Bytes.Length > WeightTransport.ChunkBytes)
            return $"chunk {chunk.Index} holds {chunk.Bytes.Length} bytes, a chunk holds 1 to {WeightTransport.ChunkBytes}";
        if (transfer.Length + chunk.Bytes.Length > int.MaxValue)
            return $"the transfer would exceed {int.MaxValue} bytes";
        return null;
    }

    private async Task RefuseAsync(WeightChunk chunk, Transfer transfer, string problem)
    {
        logger.LogWarning("Chunk {Index} of transfer {TransferId} from worker {WorkerId} rejected: {Reason}",
            chunk.Index, chunk.TransferId, chunk.WorkerId, problem);
        transfer.Hash.Dispose();
        if (transfer.Upload is { } upload)
            await upload.AbortAsync();
        transfer.Outcome.TrySetResult(UploadOutcome.Refused($"chunk {chunk.Index} of transfer {chunk.TransferId:N} rejected: {problem}"));
    }

    /// <summary>
    /// How the transfer an update names ended, waiting up to <paramref name="patience"/> for its chunks (they are queued
    /// before the update is sent, but the chunk endpoint may lag behind the answers). A transfer this process does not
    /// know (a restarted controller) is complete when its key is in the store. The transfer is then forgotten here.
    /// </summary>
    public async Task<UploadOutcome> WaitAsync(string workerId, Guid transferId, TimeSpan patience, CancellationToken cancellationToken)
    {
        var key = KeyOf(workerId, transferId);
        var transfer = transfers.GetOrAdd(key, _ => new Transfer(clock.GetUtcNow()));
        try
        {
            return await transfer.Outcome.Task.WaitAsync(patience, clock, cancellationToken);
        }
        catch (TimeoutException)
        {
            if (transfer.Next == 0 && await store.ContainsAsync(key, cancellationToken))
                return new UploadOutcome(-1, null, null);
            return UploadOutcome.Refused(
                $"transfer {transferId:N} incomplete after {patience.TotalSeconds:0.#} s: {transfer.Next} chunks ({transfer.Length} bytes) arrived and no final message; chunk {transfer.Next} or the final message is missing");
        }
        finally
        {
            transfers.TryRemove(KeyValuePair.Create(key, transfer));
        }
    }

    /// <summary>At most once a minute: transfers idle for <see cref="IdleLimit"/> are forgotten, an unfinished one's chunks removed.</summary>
    private void Sweep()
    {
        var now = clock.GetUtcNow();
        var last = Interlocked.Read(ref lastSweepTicks);
        if (now.UtcTicks - last < TimeSpan.TicksPerMinute || Interlocked.CompareExchange(ref lastSweepTicks, now.UtcTicks, last) != last)
            return;
        foreach (var (key, transfer) in transfers)
        {
            if (now - transfer.Touched < IdleLimit || !transfers.TryRemove(KeyValuePair.Create(key, transfer)))
                continue;
            if (!transfer.Outcome.Task.IsCompleted && transfer.Upload is { } upload)
            {
                logger.LogWarning("Transfer {Key} idle for {Idle}: forgotten, its {Chunks} chunks removed", key, now - transfer.Touched, transfer.Next);
                transfer.Outcome.TrySetResult(UploadOutcome.Refused($"transfer idle for {(now - transfer.Touched).TotalMinutes:0} min after {transfer.Next} chunks"));
                _ = upload.AbortAsync();
            }
        }
    }

    private sealed class Transfer(DateTimeOffset started)
    {
        public IClaimCheckUpload? Upload { get; set; }
        public IncrementalHash Hash { get; } = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        public int Next { get; set; }
        public long Length { get; set; }
        public DateTimeOffset Touched { get; set; } = started;
        public TaskCompletionSource<UploadOutcome> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
