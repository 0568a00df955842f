using System.Buffers;

namespace IcosFl.Infrastructure.Weights;

/// <summary>
/// Writes into one array whose length is known in advance, so the encoder can hand that array out
/// without a final copy (a 200 MB model must not be copied twice).
/// </summary>
/// <remarks>
/// MessagePackWriter asks for a few bytes more than it writes (GetSpan(5) before a 1-byte header).
/// Near the end of the array such a request gets a scratch span, which Advance copies back.
/// </remarks>
internal sealed class FixedLengthBufferWriter(byte[] buffer, int length) : IBufferWriter<byte>
{
    private byte[] scratch = [];
    private bool scratchHandedOut;

    public int Written { get; private set; }

    /// <summary>The array (possibly longer than the encoding, when it came from a pool), once every byte of the encoding is written.</summary>
    public byte[] WrittenArray => Written == length
        ? buffer
        : throw new InvalidOperationException($"encoder wrote {Written} bytes, expected exactly {length}");

    public void Advance(int count)
    {
        if (count < 0 || count > length - Written)
        {
            throw new InvalidOperationException($"encoder wrote past the computed length of {length} bytes");
        }

        if (scratchHandedOut)
        {
            scratch.AsSpan(0, count).CopyTo(buffer.AsSpan(Written));
            scratchHandedOut = false;
        }

        Written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        var needed = Math.Max(sizeHint, 1);
        if (length - Written >= needed)
        {
            scratchHandedOut = false;
            return buffer.AsMemory(Written);
        }

        if (scratch.Length < needed)
        {
            scratch = new byte[needed];
        }

        scratchHandedOut = true;
        return scratch.AsMemory(0, needed);
    }

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
}
