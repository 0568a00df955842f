using System.Buffers;

namespace IcosFl.Infrastructure.Weights;

/// <summary>
/// An encoder's output cut into chunks of a fixed size, each handed to <c>full</c> as soon as it is written (the last
/// one when <see cref="Flush"/> is called), so that a large payload is sent while it is encoded and never sits in one
/// buffer. Chunks come from a pool shared by every thread; <c>full</c> owns a chunk from then on and gives it back with
/// <see cref="Return"/> once nothing reads it any more.
/// </summary>
/// <remarks>
/// MessagePackWriter asks for a few bytes more than it writes (GetSpan(5) before a 1-byte header). Near the end of
/// a chunk such a request gets a scratch span, which <see cref="Advance"/> copies across the chunk boundary, so
/// every chunk but the last is exactly full.
/// </remarks>
internal sealed class PayloadChunkWriter(int chunkBytes, Action<byte[], int> full) : IBufferWriter<byte>, IDisposable
{
    /// <summary>
    /// Not <see cref="ArrayPool{T}.Shared"/>: it parks a returned array in the returning thread's own slot, and chunks
    /// are returned by whichever thread saw their write land. 32 kept: a 32 MiB upload in flight allocates nothing.
    /// </summary>
    private static readonly ArrayPool<byte> Pool = ArrayPool<byte>.Create(maxArrayLength: 16 * 1024 * 1024, maxArraysPerBucket: 32);

    private readonly int chunkBytes = chunkBytes > 0 ? chunkBytes : throw new ArgumentOutOfRangeException(nameof(chunkBytes), chunkBytes, "chunks must hold at least one byte");
    private byte[]? chunk;
    private int used;
    private byte[] scratch = [];
    private bool scratchHandedOut;

    public static void Return(byte[] chunk) => Pool.Return(chunk);

    public void Advance(int count)
    {
        if (count < 0)
            throw new ArgumentOutOfRangeException(nameof(count), count, "cannot advance by a negative count");
        if (scratchHandedOut)
        {
            scratchHandedOut = false;
            Put(scratch.AsSpan(0, count));
            return;
        }

        if (count > chunkBytes - used)
            throw new InvalidOperationException($"advanced {count} bytes past the {chunkBytes - used} left in the chunk");
        used += count;
        if (used == chunkBytes)
            Emit();
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        var needed = Math.Max(sizeHint, 1);
        chunk ??= Pool.Rent(chunkBytes);
        if (chunkBytes - used >= needed)
        {
            scratchHandedOut = false;
            return chunk.AsMemory(used, chunkBytes - used);
        }

        if (scratch.Length < needed)
            scratch = new byte[needed];
        scratchHandedOut = true;
        return scratch.AsMemory(0, needed);
    }

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    /// <summary>Hands on the last, partly filled chunk (nothing when the output ended on a chunk boundary).</summary>
    public void Flush()
    {
        if (used > 0)
            Emit();
    }

    /// <summary>Gives back a chunk that was never handed on (the encoding failed part way).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref chunk, null) is { } unsent)
            Pool.Return(unsent);
        used = 0;
    }

    private void Put(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            chunk ??= Pool.Rent(chunkBytes);
            var piece = Math.Min(bytes.Length, chunkBytes - used);
            bytes[..piece].CopyTo(chunk.AsSpan(used));
            used += piece;
            bytes = bytes[piece..];
            if (used == chunkBytes)
                Emit();
        }
    }

    private void Emit()
    {
        var filled = chunk!;
        var length = used;
        chunk = null;
        used = 0;
        full(filled, length);
    }
}
