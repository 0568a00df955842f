using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using IcosFl.Contracts;
using MessagePack;

namespace IcosFl.Infrastructure.Weights;

/// <summary>
/// Decodes <see cref="WeightCodec"/>'s format from pieces of any size, front to back, as they arrive: tensor data
/// goes straight from each piece into the tensor's float array (checked for NaN and infinities while in cache),
/// so a claim-checked payload is never assembled in one buffer. The first problem is kept, not thrown:
/// <see cref="Complete"/> throws it, so that a caller can first check the payload's length and checksum
/// (a corrupted payload is reported as corrupted, not as whatever its corruption looks like).
/// <paramref name="expectedLength"/> is the payload's length as declared: no tensor array is allocated for more
/// data than the payload can still hold.
/// </summary>
public sealed class WeightDecoder(long expectedLength)
{
    // Header bytes gathered before a parse is tried: most tensor headers are a few dozen bytes; a longer one doubles it.
    private const int FirstHeaderTake = 256;

    private readonly ArrayBufferWriter<byte> _pending = new(FirstHeaderTake);
    private Stage _stage = Stage.Top;
    private long _position; // bytes written so far
    private long _pendingStart; // the payload offset of _pending's first byte
    private long _parsedUpTo; // where the last header parse stopped
    private WeightPayloadException? _problem;

    private NamedTensor[] _tensors = [];
    private readonly Dictionary<string, int> _firstIndexOfName = new(StringComparer.Ordinal);
    private int _index = -1;
    private string? _name;

    // The tensor whose data is arriving.
    private int[] _shape = [];
    private float[] _values = [];
    private long _dataFilled; // bytes
    private int _valuesChecked; // floats

    private enum Stage
    {
        Top,
        TensorHeader,
        Data,
        Done,
    }

    /// <summary>The next piece of the payload.</summary>
    public void Write(ReadOnlySpan<byte> piece)
    {
        var start = _position;
        _position += piece.Length;
        if (_problem is not null)
            return;
        try
        {
            Feed(piece, start);
        }
        catch (WeightPayloadException e)
        {
            _problem = e;
        }
    }

    private void Feed(ReadOnlySpan<byte> piece, long offset)
    {
        while (!piece.IsEmpty && _stage != Stage.Done)
        {
            var used = _stage == Stage.Data ? WriteData(piece) : WriteHeader(piece, offset);
            piece = piece[used..];
            offset += used;
        }
    }

    /// <summary>The decoded weights, or the payload's first problem (including a payload that ends early or goes on after its end).</summary>
    public ModelWeights Complete()
    {
        if (_problem is not null)
            throw _problem;
        switch (_stage)
        {
            case Stage.Done when _position > _pendingStart:
                throw new WeightPayloadException(
                    $"weights payload has {_position - _pendingStart} trailing bytes after its {_tensors.Length} tensors; it must end there");
            case Stage.Done:
                return new ModelWeights(_tensors);
            case Stage.Top when _position == 0:
                throw new WeightPayloadException("weights payload is empty (truncated): expected a MessagePack array [format-version, tensors]");
            case Stage.Data:
                throw Truncated(_pendingStart + _dataFilled);
            default:
                // A header cut off: parsed once more (it failed only for want of bytes before), to say how far it got.
                try
                {
                    ParseHeader(_pending.WrittenMemory);
                }
                catch (EndOfStreamException)
                {
                }

                throw Truncated(_parsedUpTo);
        }
    }

    private WeightPayloadException Truncated(long readUpTo) => new(
        $"{Where()}weights payload is truncated: it ends at byte {_position} before the {(_stage == Stage.Top ? "tensor list" : "tensor")} is complete (read up to byte {readUpTo})",
        _name, Index);

    private string Where() => WeightCodec.Where(Index, _name);

    /// <summary>Gathers header bytes until the next header parses; returns how many bytes of <paramref name="piece"/> it took.</summary>
    private int WriteHeader(ReadOnlySpan<byte> piece, long offset)
    {
        if (_pending.WrittenCount == 0)
            _pendingStart = offset;
        var before = _pending.WrittenCount;
        var take = Math.Min(piece.Length, Math.Max(FirstHeaderTake, before));
        piece[..take].CopyTo(_pending.GetSpan(take));
        _pending.Advance(take);
        int consumed;
        try
        {
            consumed = ParseHeader(_pending.WrittenMemory);
        }
        catch (EndOfStreamException)
        {
            return take; // the header goes on in the next bytes
        }

        // What follows the header is the tensor's data or the next header.
        var headerStart = _pendingStart;
        _pendingStart += consumed;
        if (consumed >= before)
        {
            // The header ends within this piece.
            _pending.Clear();
            return consumed - before;
        }

        // The header ended in bytes gathered earlier (MessagePack's reader refuses an array header until as many bytes
        // follow as it declares elements, so a parse can fail for want of bytes beyond the header): those go round again.
        var gathered = _pending.WrittenSpan[consumed..before].ToArray();
        _pending.Clear();
        Feed(gathered, headerStart + consumed);
        return 0;
    }

    /// <summary>
    /// Parses the header the stage expects from <paramref name="header"/> (which starts where it does) and moves on;
    /// throws <see cref="EndOfStreamException"/>, changing nothing, when the header needs more bytes.
    /// </summary>
    private int ParseHeader(ReadOnlyMemory<byte> header)
    {
        var reader = new MessagePackReader(header);
        try
        {
            try
            {
                if (_stage == Stage.Top)
                    ParseTop(ref reader);
                else
                    ParseTensorHeader(ref reader);
                return (int)reader.Consumed;
            }
            finally
            {
                _parsedUpTo = _pendingStart + reader.Consumed;
            }
        }
        catch (OverflowException e)
        {
            throw new WeightPayloadException(
                $"{Where()}malformed MessagePack at byte {_pendingStart + reader.Consumed}: a length or count overflows (corrupt payload)", _name, Index, e);
        }
        catch (MessagePackSerializationException e)
        {
            throw new WeightPayloadException($"{Where()}malformed MessagePack at byte {_pendingStart + reader.Consumed}: {e.Message}", _name, Index, e);
        }
    }

    private int? Index => _stage is Stage.Top or Stage.Done ? null : _index;

    private void ParseTop(ref MessagePackReader reader)
    {
        var type = reader.NextMessagePackType;
        if (type != MessagePackType.Array)
        {
            throw new WeightPayloadException(
                $"weights payload is not a MessagePack array: it starts with {WeightCodec.Describe(type, reader.NextCode)}; expected [format-version, tensors]");
        }

        var topCount = reader.ReadArrayHeader();
        if (topCount != 2)
            throw new WeightPayloadException($"weights payload must be an array of 2 [format-version, tensors], got {topCount} elements");

        if (reader.NextMessagePackType != MessagePackType.Integer)
        {
            throw new WeightPayloadException(
                $"weights format version must be an integer, got {WeightCodec.Describe(reader.NextMessagePackType, reader.NextCode)}");
        }

        var version = reader.NextCode == MessagePackCode.UInt64 ? reader.ReadUInt64().ToString(CultureInfo.InvariantCulture)
            : reader.ReadInt64().ToString(CultureInfo.InvariantCulture);
        if (version != WeightCodec.FormatVersion.ToString(CultureInfo.InvariantCulture))
            throw new WeightPayloadException($"wrong weights format version {version}: this build reads version {WeightCodec.FormatVersion}");

        if (reader.NextMessagePackType != MessagePackType.Array)
        {
            throw new WeightPayloadException(
                $"weights tensor list must be a MessagePack array, got {WeightCodec.Describe(reader.NextMessagePackType, reader.NextCode)}");
        }

        var count = reader.ReadArrayHeader();
        _tensors = new NamedTensor[count];
        _firstIndexOfName.EnsureCapacity(Math.Min(count, 1024));
        NextTensor();
    }

    /// <summary>[name, dtype, shape, data's bin header]; the data itself follows in <see cref="WriteData"/>.</summary>
    private void ParseTensorHeader(ref MessagePackReader reader)
    {
        _name = null;
        var index = _index;
        if (reader.NextMessagePackType != MessagePackType.Array)
            throw Problem($"must be an array [name, dtype, shape, data], got {WeightCodec.Describe(reader.NextMessagePackType, reader.NextCode)}");

        var fields = reader.ReadArrayHeader();
        if (fields != 4)
            throw Problem($"must be an array of 4 [name, dtype, shape, data], got {fields} elements");

        if (reader.NextMessagePackType != MessagePackType.String)
            throw Problem($"name must be a string, got {WeightCodec.Describe(reader.NextMessagePackType, reader.NextCode)}");

        var name = WeightCodec.DecodeName(reader.ReadStringSequence()!.Value, index);
        // Checked, not yet recorded: a header cut off by the end of a piece is parsed again from its start.
        if (_firstIndexOfName.TryGetValue(name, out var first))
            throw Problem($"duplicate tensor name (also tensor {first})", name);
        _name = name;

        if (reader.NextMessagePackType != MessagePackType.String)
            throw Problem($"dtype must be a string, got {WeightCodec.Describe(reader.NextMessagePackType, reader.NextCode)}");

        var dtype = reader.ReadString()!;
        if (dtype != NamedTensor.Float32)
        {
            throw WeightCodec.UnsupportedDtype(dtype)
                ? Problem($"dtype '{dtype}' is not supported: IcosFl weights are float32")
                : Problem($"unknown dtype '{dtype}': expected 'float32'");
        }

        if (reader.NextMessagePackType != MessagePackType.Array)
            throw Problem($"shape must be an array of non-negative integers, got {WeightCodec.Describe(reader.NextMessagePackType, reader.NextCode)}");

        var rank = reader.ReadArrayHeader();
        var shape = new int[rank];
        for (var d = 0; d < rank; d++)
        {
            if (reader.NextMessagePackType != MessagePackType.Integer)
                throw Problem($"shape[{d}] must be an integer, got {WeightCodec.Describe(reader.NextMessagePackType, reader.NextCode)}");

            if (reader.NextCode == MessagePackCode.UInt64)
            {
                var huge = reader.ReadUInt64();
                throw Problem($"shape[{d}] = {huge} overflows: a dimension must be at most {int.MaxValue}");
            }

            var dimension = reader.ReadInt64();
            if (dimension < 0)
                throw Problem($"shape[{d}] is negative ({dimension})");

            if (dimension > int.MaxValue)
                throw Problem($"shape[{d}] = {dimension} overflows: a dimension must be at most {int.MaxValue}");

            shape[d] = (int)dimension;
        }

        var elements = WeightCodec.ElementCount(shape, index, name);

        if (reader.NextMessagePackType != MessagePackType.Binary)
            throw Problem($"data must be MessagePack bin (little-endian float32 bytes), got {WeightCodec.Describe(reader.NextMessagePackType, reader.NextCode)}");

        var dataLength = ReadBinHeader(ref reader);
        if (dataLength != elements * sizeof(float))
        {
            throw Problem(
                $"shape {WeightCodec.FormatShape(shape)} describes {elements} float32 values ({elements * sizeof(float)} bytes) but data has {dataLength} bytes");
        }

        // Nothing is allocated for data the payload cannot hold.
        var dataStart = _pendingStart + reader.Consumed;
        if (dataLength > expectedLength - dataStart)
        {
            throw Problem(
                $"weights payload is truncated: the data's {dataLength} bytes start at byte {dataStart} of a {expectedLength}-byte payload");
        }

        // The header is whole: record it and get ready for the data.
        _firstIndexOfName.Add(name, index);
        _shape = shape;
        _values = elements == 0 ? [] : GC.AllocateUninitializedArray<float>((int)elements);
        _dataFilled = 0;
        _valuesChecked = 0;
        _stage = Stage.Data;
        if (elements == 0)
            EndTensor();
    }

    /// <summary>The length in a bin 8, 16 or 32 header (big-endian, as MessagePack writes it).</summary>
    private static long ReadBinHeader(ref MessagePackReader reader)
    {
        var lengthBytes = reader.NextCode switch
        {
            MessagePackCode.Bin8 => 1,
            MessagePackCode.Bin16 => 2,
            _ => 4,
        };
        Span<byte> header = stackalloc byte[5];
        reader.ReadRaw(1 + lengthBytes).CopyTo(header);
        return lengthBytes switch
        {
            1 => header[1],
            2 => BinaryPrimitives.ReadUInt16BigEndian(header[1..]),
            _ => BinaryPrimitives.ReadUInt32BigEndian(header[1..]),
        };
    }

    /// <summary>Copies the tensor's next bytes in; checks each float once its four bytes are in.</summary>
    private int WriteData(ReadOnlySpan<byte> piece)
    {
        var bytes = MemoryMarshal.AsBytes(_values.AsSpan());
        var take = (int)Math.Min(piece.Length, bytes.Length - _dataFilled);
        var copied = 0;
        while (copied < take)
        {
            var step = Math.Min(take - copied, WeightCodec.ChunkFloats * sizeof(float));
            piece.Slice(copied, step).CopyTo(bytes[(int)(_dataFilled + copied)..]);
            copied += step;
            CheckWholeFloats((int)((_dataFilled + copied) / sizeof(float)));
        }

        _dataFilled += take;
        if (_dataFilled == bytes.Length)
        {
            _pendingStart += _dataFilled;
            EndTensor();
        }

        return take;
    }

    private void CheckWholeFloats(int whole)
    {
        var fresh = _values.AsSpan(_valuesChecked, whole - _valuesChecked);
        if (!BitConverter.IsLittleEndian)
        {
            var words = MemoryMarshal.Cast<float, int>(fresh);
            BinaryPrimitives.ReverseEndianness(words, words);
        }

        var at = WeightCodec.IndexOfNonFinite(fresh);
        if (at >= 0)
            throw WeightCodec.NonFinite(fresh[at], _valuesChecked + at, _index, _name);
        _valuesChecked = whole;
    }

    private void EndTensor()
    {
        _tensors[_index] = new NamedTensor(_name!, _shape, _values);
        _values = [];
        NextTensor();
    }

    private void NextTensor()
    {
        _index++;
        _name = null;
        _stage = _index < _tensors.Length ? Stage.TensorHeader : Stage.Done;
    }

    private WeightPayloadException Problem(string what, string? name = null) => WeightCodec.Problem(_index, name ?? _name, what);
}
