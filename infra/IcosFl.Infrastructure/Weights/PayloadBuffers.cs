using System.Buffers;

namespace IcosFl.Infrastructure.Weights;

/// <summary>
/// The buffers claim-checked payloads are encoded into and fetched into (megabytes to hundreds of megabytes),
/// shared by every thread.
/// </summary>
/// <remarks>
/// Not <see cref="ArrayPool{T}.Shared"/>: it parks a returned array in the returning thread's own slot, where
/// a rent on another thread does not look. Packing and fetching are asynchronous and change threads between
/// rent and return, so a 10 or 100 MB buffer was allocated afresh (its zeroed pages faulted in: 12 ms for
/// 10 MB here, 62 ms for 100 MB) almost every time. Two buffers per size class at most stay pooled.
/// </remarks>
internal static class PayloadBuffers
{
    public static readonly ArrayPool<byte> Pool = ArrayPool<byte>.Create(maxArrayLength: 1024 * 1024 * 1024, maxArraysPerBucket: 2);
}
