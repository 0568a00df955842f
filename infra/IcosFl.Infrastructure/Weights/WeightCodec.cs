using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;
using IcosFl.Contracts;
using MessagePack;

namespace IcosFl.Infrastructure.Weights;

/// <summary>
/// Encodes <see cref="ModelWeights"/> to MessagePack and back, strictly checking what arrives.
/// </summary>
/// <remarks>
/// Wire format, version 1 (any MessagePack library can produce it):
/// <code>
/// payload = array(2) [ format-version: int = 1, tensors: array(N) of tensor ]
/// tensor  = array(4) [ name:  str  (UTF-8, non-empty, unique; PyTorch state_dict name),
///                      dtype: str  "float32" (the only dtype accepted),
///                      shape: array of int (each >= 0; [] is a scalar with one element),
///                      data:  bin  (product(shape) x 4 bytes: IEEE-754 float32, little-endian,
///                                   row-major; NaN and infinities are rejected) ]
/// </code>
/// Example in Python: <c>msgpack.packb([1, [["linear.bias", "float32", [1], np.float32([0.5]).tobytes()]]])</c>.
/// Nothing may follow the payload. Tensor data is copied in bulk, never element by element, so a
/// 200 MB model costs one memory copy each way.
/// </remarks>
public static class WeightCodec
{
    public const string ContentType = "application/x-icosfl-weights+msgpack";

    /// <summary>The format version this build writes and the only one it reads.</summary>
    public const int FormatVersion = 1;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    // Dtypes a PyTorch or NumPy exporter might send: named as unsupported rather than unknown.
    private static readonly HashSet<string> UnsupportedDtypes = new(StringComparer.Ordinal)
    {
        "float16", "half", "bfloat16", "float64", "double", "complex64", "complex128",
        "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool",
    };

    /// <summary>Encodes; NaN or infinite values are refused (a <see cref="WeightPayloadException"/> naming the tensor).</summary>
    public static byte[] Encode(ModelWeights weights) => Encode(weights, refuseNonFinite: true);

    /// <summary>
    /// Encodes like <see cref="Encode(ModelWeights)"/> but lets NaN and infinities through; names, shapes and
    /// sizes are still checked. Only for simulated adversaries (<c>icosfl simulate --adversary worker-N=nan</c>),
    /// which must get non-finite values onto the wire so that the receiver's checks are exercised: a real
    /// worker never sends what <see cref="Decode"/> would refuse.
    /// </summary>
    public static byte[] EncodeUnchecked(ModelWeights weights) => Encode(weights, refuseNonFinite: false);

    private static byte[] Encode(ModelWeights weights, bool refuseNonFinite)
    {
        FixedLengthBufferWriter? output = null;
        Encode(weights, refuseNonFinite, length => output = new FixedLengthBufferWriter(GC.AllocateUninitializedArray<byte>(length), length));
        return output!.WrittenArray;
    }

    /// <summary>
    /// Encodes into the writer <paramref name="open"/> returns for the exact encoded length, which it is told
    /// before anything is written (to choose, e.g., between one array and chunks sent as they fill); returns that length.
    /// Tensor data goes to the writer in as many pieces as its spans take, each piece checked for NaN and
    /// infinities before it is written, so that a refused model leaves nothing non-finite behind.
    /// </summary>
    internal static int Encode(ModelWeights weights, bool refuseNonFinite, Func<int, IBufferWriter<byte>> open)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var tensors = weights.Tensors ?? throw new WeightPayloadException("model weights have no tensor list");

        // Validate and size everything first, so the output array is allocated once at its exact length.
        var names = new byte[tensors.Count][];
        var firstIndexOfName = new Dictionary<string, int>(tensors.Count, StringComparer.Ordinal);
        long encodedLength = ArrayHeaderLength(2) + UIntLength(FormatVersion) + ArrayHeaderLength(tensors.Count);
        for (var i = 0; i < tensors.Count; i++)
        {
            var tensor = tensors[i] ?? throw new WeightPayloadException($"tensor {i}: is null", null, i);
            names[i] = CheckTensorForEncode(tensor, i, firstIndexOfName);
            encodedLength += ArrayHeaderLength(4)
                + StrLength(names[i].Length)
                + StrLength(NamedTensor.Float32.Length)
                + ArrayHeaderLength(tensor.Shape.Length)
                + tensor.Shape.Sum(d => (long)UIntLength((uint)d))
                + BinLength(tensor.Data.Length * (long)sizeof(float));
        }

        if (encodedLength > Array.MaxLength)
        {
            throw new WeightPayloadException(
                $"model weights encode to {encodedLength} bytes, more than one payload can hold ({Array.MaxLength} bytes)");
        }

        var length = (int)encodedLength;
        var output = open(length);
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(2);
        writer.Write(FormatVersion);
        writer.WriteArrayHeader(tensors.Count);
        for (var i = 0; i < tensors.Count; i++)
        {
            var tensor = tensors[i];
            writer.WriteArrayHeader(4);
            writer.WriteString(names[i]);
            writer.WriteString("float32"u8);
            writer.WriteArrayHeader(tensor.Shape.Length);
            foreach (var dimension in tensor.Shape)
            {
                writer.Write(dimension);
            }

            var byteCount = tensor.Data.Length * sizeof(float);
            writer.WriteBinHeader(byteCount);
            if (byteCount > 0)
            {
                // The headers so far go to the output first; the data follows straight into it.
                writer.Flush();
                var nonFinite = CopyOut(tensor.Data, output, refuseNonFinite);
                if (nonFinite >= 0)
                {
                    throw NonFinite(tensor.Data[nonFinite], nonFinite, i, tensor.Name);
                }
            }
        }

        writer.Flush();
        return length;
    }

    /// <summary>Decodes a whole payload (<see cref="WeightDecoder"/> given it in one piece).</summary>
    public static ModelWeights Decode(ReadOnlyMemory<byte> bytes)
    {
        var decoder = new WeightDecoder(bytes.Length);
        decoder.Write(bytes.Span);
        return decoder.Complete();
    }

    /// <summary>A tensor name: strict UTF-8, not empty.</summary>
    internal static string DecodeName(ReadOnlySequence<byte> bytes, int index)
    {
        string name;
        try
        {
            name = StrictUtf8.GetString(bytes.IsSingleSegment ? bytes.FirstSpan : bytes.ToArray());
        }
        catch (DecoderFallbackException)
        {
            throw Problem(index, null, "name is not valid UTF-8");
        }

        return name.Length == 0 ? throw Problem(index, null, "empty tensor name") : name;
    }

    /// <summary>Whether <paramref name="dtype"/> is one a PyTorch or NumPy exporter might send (named as unsupported, not unknown).</summary>
    internal static bool UnsupportedDtype(string dtype) => UnsupportedDtypes.Contains(dtype);

    private static byte[] CheckTensorForEncode(NamedTensor tensor, int index, Dictionary<string, int> firstIndexOfName)
    {
        CheckName(tensor.Name, index, firstIndexOfName);
        byte[] nameBytes;
        try
        {
            nameBytes = StrictUtf8.GetBytes(tensor.Name);
        }
        catch (EncoderFallbackException)
        {
            throw Problem(index, tensor.Name, "name is not valid Unicode (unpaired surrogate)");
        }

        if (tensor.Shape is null)
        {
            throw Problem(index, tensor.Name, "shape is null");
        }

        if (tensor.Data is null)
        {
            throw Problem(index, tensor.Name, "data is null");
        }

        for (var d = 0; d < tensor.Shape.Length; d++)
        {
            if (tensor.Shape[d] < 0)
            {
                throw Problem(index, tensor.Name, $"shape[{d}] is negative ({tensor.Shape[d]})");
            }
        }

        var elements = ElementCount(tensor.Shape, index, tensor.Name);
        if (elements != tensor.Data.Length)
        {
            throw Problem(index, tensor.Name,
                $"shape {FormatShape(tensor.Shape)} describes {elements} float32 values but data has {tensor.Data.Length}");
        }

        return nameBytes;
    }

    private static void CheckName(string? name, int index, Dictionary<string, int> firstIndexOfName)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw Problem(index, null, "empty tensor name");
        }

        if (!firstIndexOfName.TryAdd(name, index))
        {
            throw Problem(index, name, $"duplicate tensor name (also tensor {firstIndexOfName[name]})");
        }
    }

    /// <summary>Elements the shape describes; a product beyond what one array can hold is an overflow.</summary>
    internal static long ElementCount(int[] shape, int index, string? name)
    {
        if (shape.Contains(0))
        {
            return 0;
        }

        long elements = 1;
        foreach (var dimension in shape)
        {
            elements *= dimension;
            if (elements > Array.MaxLength / sizeof(float))
            {
                throw Problem(index, name,
                    $"shape {FormatShape(shape)} overflows: more than {Array.MaxLength / sizeof(float)} float32 values in one tensor");
            }
        }

        return elements;
    }

    // Scan a cache-sized block for NaN/infinity, then copy it while it is still in cache: one pass over memory.
    internal const int ChunkFloats = 16 * 1024;

    /// <summary>
    /// Writes floats out as little-endian bytes, a cache-sized block at a time: the block is scanned for NaN and
    /// infinities (when refused) and then copied, in as many pieces as the output's spans take. Returns the index
    /// of the first refused value (nothing of its block is written), or -1.
    /// </summary>
    private static int CopyOut(ReadOnlySpan<float> source, IBufferWriter<byte> output, bool refuseNonFinite)
    {
        for (var start = 0; start < source.Length; start += ChunkFloats)
        {
            var block = source.Slice(start, Math.Min(ChunkFloats, source.Length - start));
            var at = refuseNonFinite ? IndexOfNonFinite(block) : -1;
            if (at >= 0)
            {
                return start + at;
            }

            ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(block);
            if (!BitConverter.IsLittleEndian)
            {
                var words = MemoryMarshal.Cast<float, int>(block).ToArray();
                BinaryPrimitives.ReverseEndianness(words, words);
                bytes = MemoryMarshal.AsBytes(words.AsSpan());
            }

            while (!bytes.IsEmpty)
            {
                var span = output.GetSpan(1);
                var piece = Math.Min(span.Length, bytes.Length);
                bytes[..piece].CopyTo(span);
                output.Advance(piece);
                bytes = bytes[piece..];
            }
        }

        return -1;
    }

    internal static WeightPayloadException NonFinite(float value, int element, int index, string? name)
    {
        var what = float.IsNaN(value) ? "NaN" : value > 0 ? "+Infinity" : "-Infinity";
        return Problem(index, name, $"element {element} is {what}; weights must be finite");
    }

    /// <summary>Index of the first NaN or infinity (exponent bits all ones), scanned a vector at a time.</summary>
    internal static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        const uint ExponentMask = 0x7F80_0000;
        var bits = MemoryMarshal.Cast<float, uint>(values);
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var mask = new Vector<uint>(ExponentMask);
            for (; i <= bits.Length - Vector<uint>.Count; i += Vector<uint>.Count)
            {
                if (Vector.EqualsAny(new Vector<uint>(bits[i..]) & mask, mask))
                {
                    break;
                }
            }
        }

        for (; i < bits.Length; i++)
        {
            if ((bits[i] & ExponentMask) == ExponentMask)
            {
                return i;
            }
        }

        return -1;
    }

    internal static WeightPayloadException Problem(int index, string? name, string what) =>
        new($"{Where(index, name)}{what}", name, index);

    internal static string Where(int? index, string? name) => (index, name) switch
    {
        (null, _) => string.Empty,
        (_, null) => $"tensor {index}: ",
        _ => $"tensor {index} '{name}': ",
    };

    internal static string FormatShape(int[] shape) =>
        "[" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";

    internal static string Describe(MessagePackType type, byte code) => type == MessagePackType.Unknown
        ? $"the invalid MessagePack code 0x{code:x2}"
        : $"a MessagePack {type.ToString().ToLowerInvariant()} (code 0x{code:x2})";

    // Exact encoded sizes, mirroring MessagePackWriter's most compact forms (checked after writing).
    private static int ArrayHeaderLength(int count) => count <= 15 ? 1 : count <= ushort.MaxValue ? 3 : 5;

    private static int UIntLength(uint value) => value <= 127 ? 1 : value <= byte.MaxValue ? 2 : value <= ushort.MaxValue ? 3 : 5;

    private static long StrLength(int byteCount) =>
        byteCount + (byteCount <= 31 ? 1 : byteCount <= byte.MaxValue ? 2 : byteCount <= ushort.MaxValue ? 3 : 5);

    private static long BinLength(long byteCount) =>
        byteCount + (byteCount <= byte.MaxValue ? 2 : byteCount <= ushort.MaxValue ? 3 : 5);
}
