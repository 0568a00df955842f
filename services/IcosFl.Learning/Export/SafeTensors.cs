using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using IcosFl.Contracts;

namespace IcosFl.Learning.Export;

/// <summary>
/// Reads and writes model weights in the safetensors format (huggingface/safetensors), so that PyTorch and
/// anything else loads them without IcosFl: 8 bytes little-endian u64 N, N bytes of UTF-8 JSON header
/// (padded with spaces so the data starts at a multiple of 8), then the tensors' bytes back to back.
/// </summary>
/// <remarks>
/// The header maps each tensor name to <c>{"dtype":"F32","shape":[...],"data_offsets":[begin,end]}</c> (offsets
/// relative to the start of the data) and holds <c>"__metadata__":{"format":"pt"}</c> as
/// <c>safetensors.torch.save_file</c> writes. Tensors are written in the given (state_dict) order.
/// </remarks>
public static class SafeTensors
{
    public const string Float32 = "F32";
    public const string MetadataKey = "__metadata__";

    // Rust's reader refuses headers above 100 MB; so does this one, before allocating anything.
    private const long MaxHeaderLength = 100_000_000;

    /// <summary>The header JSON, spaces included, exactly as <see cref="Write"/> puts it after the length.</summary>
    public static string Header(ModelWeights weights, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject(MetadataKey);
            foreach (var (key, value) in metadata ?? new Dictionary<string, string> { ["format"] = "pt" })
                json.WriteString(key, value);
            json.WriteEndObject();
            long offset = 0;
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var tensor in weights.Tensors)
            {
                if (string.IsNullOrEmpty(tensor.Name) || tensor.Name == MetadataKey || !names.Add(tensor.Name))
                    throw new ArgumentException($"Tensor name '{tensor.Name}' is empty, reserved or repeated.", nameof(weights));
                if (tensor.ElementCount != tensor.Data.Length)
                    throw new ArgumentException($"Tensor '{tensor.Name}' has shape [{string.Join(", ", tensor.Shape)}] but {tensor.Data.Length} values.", nameof(weights));
                long end = offset + tensor.Data.Length * (long)sizeof(float);
                json.WriteStartObject(tensor.Name);
                json.WriteString("dtype", Float32);
                json.WriteStartArray("shape");
                foreach (var d in tensor.Shape)
                    json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(end);
                json.WriteEndArray();
                json.WriteEndObject();
                offset = end;
            }

            json.WriteEndObject();
        }

        // Padded by bytes (a name may not be ASCII) so that the data starts 8-byte aligned, as the reference writer does.
        int bytes = (int)buffer.Length;
        return Encoding.UTF8.GetString(buffer.ToArray()) + new string(' ', (8 - bytes % 8) % 8);
    }

    public static byte[] Write(ModelWeights weights, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = Encoding.UTF8.GetBytes(Header(weights, metadata));
        long dataLength = weights.Tensors.Sum(t => t.Data.Length * (long)sizeof(float));
        var output = new byte[8 + header.Length + dataLength];
        BinaryPrimitives.WriteUInt64LittleEndian(output, (ulong)header.Length);
        header.CopyTo(output, 8);
        int at = 8 + header.Length;
        foreach (var tensor in weights.Tensors)
        {
            var span = output.AsSpan(at, tensor.Data.Length * sizeof(float));
            if (BitConverter.IsLittleEndian)
            {
                MemoryMarshal.AsBytes(tensor.Data.AsSpan()).CopyTo(span);
            }
            else
            {
                for (int i = 0; i < tensor.Data.Length; i++)
                    BinaryPrimitives.WriteSingleLittleEndian(span[(i * 4)..], tensor.Data[i]);
            }

            at += span.Length;
        }

        return output;
    }

    /// <summary>
    /// The tensors of a safetensors file in the order of their data, and its metadata. Only F32 is accepted; every
    /// problem (truncation, a bad header, overlapping or missing bytes, NaN) is an <see cref="InvalidDataException"/>
    /// naming the tensor.
    /// </summary>
    public static (ModelWeights Weights, IReadOnlyDictionary<string, string> Metadata) Read(ReadOnlySpan<byte> file)
    {
        if (file.Length < 8)
            throw new InvalidDataException($"safetensors: {file.Length} bytes, too short for the 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (headerLength > MaxHeaderLength || (long)headerLength > file.Length - 8)
            throw new InvalidDataException($"safetensors: header length {headerLength} does not fit in a file of {file.Length} bytes");
        var data = file[(8 + (int)headerLength)..];

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = new List<(string Name, int[] Shape, long Begin, long End)>();
        try
        {
            using var document = JsonDocument.Parse(file.Slice(8, (int)headerLength).ToArray());
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException("safetensors: the header is not a JSON object");
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == MetadataKey)
                {
                    foreach (var item in property.Value.EnumerateObject())
                        metadata[item.Name] = item.Value.GetString() ?? "";
                    continue;
                }

                var entry = property.Value;
                var dtype = entry.GetProperty("dtype").GetString();
                if (dtype != Float32)
                    throw new InvalidDataException($"safetensors: tensor '{property.Name}' has dtype {dtype}; IcosFl models are F32");
                var shape = entry.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
                if (shape.Any(d => d < 0))
                    throw new InvalidDataException($"safetensors: tensor '{property.Name}' has a negative dimension");
                var offsets = entry.GetProperty("data_offsets").EnumerateArray().Select(o => o.GetInt64()).ToArray();
                if (offsets.Length != 2)
                    throw new InvalidDataException($"safetensors: tensor '{property.Name}' has {offsets.Length} data_offsets, expected [begin, end]");
                entries.Add((property.Name, shape, offsets[0], offsets[1]));
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"safetensors: unreadable header: {e.Message}", e);
        }

        // As the reference reader: the tensors must tile the data exactly, without gaps or overlaps.
        entries.Sort((a, b) => a.Begin.CompareTo(b.Begin));
        long expectedBegin = 0;
        var tensors = new List<NamedTensor>(entries.Count);
        foreach (var (name, shape, begin, end) in entries)
        {
            long count = shape.Aggregate(1L, (n, d) => n * d);
            if (begin != expectedBegin || end - begin != count * sizeof(float) || end > data.Length)
                throw new InvalidDataException(
                    $"safetensors: tensor '{name}' has data_offsets [{begin}, {end}]; expected [{expectedBegin}, {expectedBegin + count * sizeof(float)}] " +
                    $"within {data.Length} data bytes for shape [{string.Join(", ", shape)}]");
            var values = new float[count];
            var bytes = data[(int)begin..(int)end];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
                if (!float.IsFinite(values[i]))
                    throw new InvalidDataException($"safetensors: tensor '{name}' element {i} is {values[i]}; weights must be finite");
            }

            tensors.Add(new NamedTensor(name, shape, values));
            expectedBegin = end;
        }

        if (expectedBegin != data.Length)
            throw new InvalidDataException($"safetensors: the tensors cover {expectedBegin} of the {data.Length} data bytes");
        return (new ModelWeights(tensors), metadata);
    }
}
