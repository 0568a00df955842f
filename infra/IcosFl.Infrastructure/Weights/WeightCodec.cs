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
    public static byte[] Encode(ModelWeights weights) => Encode(weights, refuseNonFinite: true, Exact, out _);

    /// <summary>
    /// Encodes like <see cref="Encode(ModelWeights)"/> but lets NaN and infinities through; names, shapes and
    /// sizes are still checked. Only for simulated adversaries (<c>icosfl simulate --adversary worker-N=nan</c>),
    /// which must get non-finite values onto the wire so that the receiver's checks are exercised: a real
    /// worker never sends what <see cref="Decode"/> would refuse.
    /// </summary>
    public static byte[] EncodeUnchecked(ModelWeights weights) => Encode(weights, refuseNonFinite: false, Exact, out _);

    private static byte[] Exact(int length) => GC.AllocateUninitializedArray<byte>(length);

    /// <summary>
    /// Encodes into the array <paramref name="allocate"/> returns for the exact encoded length (it may
    /// be longer, e.g. rented from a pool); <paramref name="length"/> is how much of it holds the encoding.
    /// <paramref name="final"/>, when given, is told as the encoding progresses how many leading bytes of
    /// the array are final (at most every 64 KiB of tensor data, and once at the end with the whole length),
    /// so that they can be hashed and sent while the rest is encoded.
    /// </summary>
    internal static byte[] Encode(ModelWeights weights, bool refuseNonFinite, Func<int, byte[]> allocate, out int length,
        Action<int>? final = null)
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

        length = (int)encodedLength;
        var output = new FixedLengthBufferWriter(allocate(length), length);
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
                // The headers so far go into the array, so that the data's offset in it is known.
                writer.Flush();
                var dataOffset = output.Written;
                var destination = writer.GetSpan(byteCount)[..byteCount];
                var nonFinite = CopyOut(tensor.Data, destination, refuseNonFinite, final is null ? null : copied => final(dataOffset + copied));
                if (nonFinite >= 0)
                {
                    throw NonFinite(tensor.Data[nonFinite], nonFinite, i, tensor.Name);
                }

                writer.Advance(byteCount);
            }
        }

        writer.Flush();
        var encoded = output.WrittenArray;
        final?.Invoke(length);
        return encoded;
    }

    public static ModelWeights Decode(ReadOnlyMemory<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            throw new WeightPayloadException("weights payload is empty (truncated): expected a MessagePack array [format-version, tensors]");
        }

        var reader = new MessagePackReader(bytes);
        int? index = null;
        string? name = null;
        try
        {
            var type = reader.NextMessagePackType;
            if (type != MessagePackType.Array)
            {
                throw new WeightPayloadException(
                    $"weights payload is not a MessagePack array: it starts with {Describe(type, reader.NextCode)}; expected [format-version, tensors]");
            }

            var topCount = reader.ReadArrayHeader();
            if (topCount != 2)
            {
                throw new WeightPayloadException(
                    $"weights payload must be an array of 2 [format-version, tensors], got {topCount} elements");
            }

            if (reader.NextMessagePackType != MessagePackType.Integer)
            {
                throw new WeightPayloadException(
                    $"weights format version must be an integer, got {Describe(reader.NextMessagePackType, reader.NextCode)}");
            }

            var version = reader.NextCode == MessagePackCode.UInt64 ? reader.ReadUInt64().ToString(CultureInfo.InvariantCulture)
                : reader.ReadInt64().ToString(CultureInfo.InvariantCulture);
            if (version != FormatVersion.ToString(CultureInfo.InvariantCulture))
            {
                throw new WeightPayloadException($"wrong weights format version {version}: this build reads version {FormatVersion}");
            }

            if (reader.NextMessagePackType != MessagePackType.Array)
            {
                throw new WeightPayloadException(
                    $"weights tensor list must be a MessagePack array, got {Describe(reader.NextMessagePackType, reader.NextCode)}");
            }

            var count = reader.ReadArrayHeader();
            var tensors = new NamedTensor[count];
            var firstIndexOfName = new Dictionary<string, int>(count, StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                index = i;
                name = null;
                tensors[i] = ReadTensor(ref reader, i, firstIndexOfName, ref name);
            }

            index = null;
            name = null;
            if (!reader.End)
            {
                var trailing = bytes.Length - reader.Consumed;
                throw new WeightPayloadException(
                    $"weights payload has {trailing} trailing bytes after its {count} tensors; it must end there");
            }

            return new ModelWeights(tensors);
        }
        catch (EndOfStreamException e)
        {
            throw new WeightPayloadException(
                $"{Where(index, name)}weights payload is truncated: it ends at byte {bytes.Length} before the {(index is null ? "tensor list" : "tensor")} is complete (read up to byte {reader.Consumed})",
                name, index, e);
        }
        catch (OverflowException e)
        {
            throw new WeightPayloadException(
                $"{Where(index, name)}malformed MessagePack at byte {reader.Consumed}: a length or count overflows (corrupt payload)", name, index, e);
        }
        catch (MessagePackSerializationException e)
        {
            throw new WeightPayloadException($"{Where(index, name)}malformed MessagePack at byte {reader.Consumed}: {e.Message}", name, index, e);
        }
    }

    private static NamedTensor ReadTensor(ref MessagePackReader reader, int index, Dictionary<string, int> firstIndexOfName, ref string? name)
    {
        if (reader.NextMessagePackType != MessagePackType.Array)
        {
            throw Problem(index, null, $"must be an array [name, dtype, shape, data], got {Describe(reader.NextMessagePackType, reader.NextCode)}");
        }

        var fields = reader.ReadArrayHeader();
        if (fields != 4)
        {
            throw Problem(index, null, $"must be an array of 4 [name, dtype, shape, data], got {fields} elements");
        }

        if (reader.NextMessagePackType != MessagePackType.String)
        {
            throw Problem(index, null, $"name must be a string, got {Describe(reader.NextMessagePackType, reader.NextCode)}");
        }

        var nameBytes = reader.ReadStringSequence()!.Value;
        string decodedName;
        try
        {
            decodedName = StrictUtf8.GetString(nameBytes.IsSingleSegment ? nameBytes.FirstSpan : nameBytes.ToArray());
        }
        catch (DecoderFallbackException)
        {
            throw Problem(index, null, "name is not valid UTF-8");
        }

        CheckName(decodedName, index, firstIndexOfName);
        name = decodedName;

        if (reader.NextMessagePackType != MessagePackType.String)
        {
            throw Problem(index, name, $"dtype must be a string, got {Describe(reader.NextMessagePackType, reader.NextCode)}");
        }

        var dtype = reader.ReadString()!;
        if (dtype != NamedTensor.Float32)
        {
            throw UnsupportedDtypes.Contains(dtype)
                ? Problem(index, name, $"dtype '{dtype}' is not supported: IcosFl weights are float32")
                : Problem(index, name, $"unknown dtype '{dtype}': expected 'float32'");
        }

        if (reader.NextMessagePackType != MessagePackType.Array)
        {
            throw Problem(index, name, $"shape must be an array of non-negative integers, got {Describe(reader.NextMessagePackType, reader.NextCode)}");
        }

        var rank = reader.ReadArrayHeader();
        var shape = new int[rank];
        for (var d = 0; d < rank; d++)
        {
            if (reader.NextMessagePackType != MessagePackType.Integer)
            {
                throw Problem(index, name, $"shape[{d}] must be an integer, got {Describe(reader.NextMessagePackType, reader.NextCode)}");
            }

            if (reader.NextCode == MessagePackCode.UInt64)
            {
                var huge = reader.ReadUInt64();
                throw Problem(index, name, $"shape[{d}] = {huge} overflows: a dimension must be at most {int.MaxValue}");
            }

            var dimension = reader.ReadInt64();
            if (dimension < 0)
            {
                throw Problem(index, name, $"shape[{d}] is negative ({dimension})");
            }

            if (dimension > int.MaxValue)
            {
                throw Problem(index, name, $"shape[{d}] = {dimension} overflows: a dimension must be at most {int.MaxValue}");
            }

            shape[d] = (int)dimension;
        }

        var elements = ElementCount(shape, index, name);

        if (reader.NextMessagePackType != MessagePackType.Binary)
        {
            throw Problem(index, name, $"data must be MessagePack bin (little-endian float32 bytes), got {Describe(reader.NextMessagePackType, reader.NextCode)}");
        }

        var data = reader.ReadBytes()!.Value;
        if (data.Length != elements * sizeof(float))
        {
            throw Problem(index, name,
                $"shape {FormatShape(shape)} describes {elements} float32 values ({elements * sizeof(float)} bytes) but data has {data.Length} bytes");
        }

        float[] values = elements == 0 ? [] : GC.AllocateUninitializedArray<float>((int)elements);
        var nonFinite = CopyIn(data.IsSingleSegment ? data.FirstSpan : data.ToArray(), values);
        if (nonFinite >= 0)
        {
            throw NonFinite(values[nonFinite], nonFinite, index, name);
        }

        return new NamedTensor(name, shape, values);
    }

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
    private static long ElementCount(int[] shape, int index, string? name)
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

    // Copy a cache-sized chunk, then scan it for NaN/infinity while it is still in cache: one pass over memory.
    private const int ChunkFloats = 16 * 1024;

    /// <summary>
    /// Copies floats out as little-endian bytes. Refusing non-finite values, it stops at the chunk holding
    /// the first one and returns its index; otherwise it copies everything. -1 when nothing was refused.
    /// <paramref name="copied"/> hears how many bytes are copied (and checked) after each chunk.
    /// </summary>
    private static int CopyOut(ReadOnlySpan<float> source, Span<byte> destination, bool refuseNonFinite, Action<int>? copied)
    {
        for (var start = 0; start < source.Length; start += ChunkFloats)
        {
            var chunk = source.Slice(start, Math.Min(ChunkFloats, source.Length - start));
            var bytes = destination.Slice(start * sizeof(float), chunk.Length * sizeof(float));
            MemoryMarshal.AsBytes(chunk).CopyTo(bytes);
            if (!BitConverter.IsLittleEndian)
            {
                var words = MemoryMarshal.Cast<byte, int>(bytes);
                BinaryPrimitives.ReverseEndianness(words, words);
            }

            var at = refuseNonFinite ? IndexOfNonFinite(chunk) : -1;
            if (at >= 0)
            {
                return start + at;
            }

            copied?.Invoke((start + chunk.Length) * sizeof(float));
        }

        return -1;
    }

    /// <summary>Copies little-endian bytes in as floats; returns the index of the first non-finite value, or -1.</summary>
    private static int CopyIn(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (var start = 0; start < destination.Length; start += ChunkFloats)
        {
            var chunk = destination.Slice(start, Math.Min(ChunkFloats, destination.Length - start));
            source.Slice(start * sizeof(float), chunk.Length * sizeof(float)).CopyTo(MemoryMarshal.AsBytes(chunk));
            if (!BitConverter.IsLittleEndian)
            {
                var words = MemoryMarshal.Cast<float, int>(chunk);
                BinaryPrimitives.ReverseEndianness(words, words);
            }

            var at = IndexOfNonFinite(chunk);
            if (at >= 0)
            {
                return start + at;
            }
        }

        return -1;
    }

    private static WeightPayloadException NonFinite(float value, int element, int index, string? name)
    {
        var what = float.IsNaN(value) ? "NaN" : value > 0 ? "+Infinity" : "-Infinity";
        return Problem(index, name, $"element {element} is {what}; weights must be finite");
    }

    /// <summary>Index of the first NaN or infinity (exponent bits all ones), scanned a vector at a time.</summary>
    private static int IndexOfNonFinite(ReadOnlySpan<float> values)
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

    private static WeightPayloadException Problem(int index, string? name, string what) =>
        new($"{Where(index, name)}{what}", name, index);

    private static string Where(int? index, string? name) => (index, name) switch
    {
        (null, _) => string.Empty,
        (_, null) => $"tensor {index}: ",
        _ => $"tensor {index} '{name}': ",
    };

    private static string FormatShape(int[] shape) =>
        "[" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";

    private static string Describe(MessagePackType type, byte code) => type == MessagePackType.Unknown
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
