using System.Text.Json;
using System.Text.Json.Serialization;
using IcosFl.Contracts;
using IcosFl.Infrastructure.Weights;

namespace IcosFl.Controller.Checkpoints;

/// <summary>
/// A checkpoint as one JSON document: readable metadata, and the weights as base64 of the weight codec's MessagePack
/// bytes with their XxHash64 checksum. No wall-clock time inside, so the same round saved twice is the same file.
/// </summary>
public static class CheckpointFile
{
    public const string Format = "icosfl-checkpoint/1";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        // A file for people as well as programs: "+" and non-ASCII names stay as they are.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static byte[] Serialize(Checkpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var document = new Document
        {
            Format = Format,
            FederationId = checkpoint.FederationId,
            Round = checkpoint.Round,
            Attempt = checkpoint.Attempt,
            RunConfig = checkpoint.RunConfig,
            Scaler = checkpoint.Scaler,
            InputScalers = checkpoint.InputScalers,
            Metrics = checkpoint.Metrics,
            Weights = Pack(checkpoint.Weights),
            ServerState = checkpoint.ServerState is null ? null : Pack(checkpoint.ServerState),
        };
        return JsonSerializer.SerializeToUtf8Bytes(document, Json);
    }

    /// <summary>Reads a checkpoint; anything wrong is an <see cref="InvalidDataException"/> naming <paramref name="source"/> and the problem.</summary>
    public static Checkpoint Deserialize(ReadOnlySpan<byte> bytes, string source)
    {
        Document? document;
        try
        {
            document = JsonSerializer.Deserialize<Document>(bytes, Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"checkpoint {source} is not readable JSON: {e.Message}", e);
        }

        if (document is null || document.Format != Format)
            throw new InvalidDataException($"checkpoint {source}: format '{document?.Format}' is not '{Format}'");
        if (document.RunConfig is null || document.Weights is null || document.Metrics is null)
            throw new InvalidDataException($"checkpoint {source}: runConfig, weights and metrics are required");
        return new Checkpoint
        {
            FederationId = document.FederationId,
            Round = document.Round,
            Attempt = document.Attempt,
            RunConfig = document.RunConfig,
            Scaler = document.Scaler,
            InputScalers = document.InputScalers,
            Metrics = document.Metrics,
            Weights = Unpack(document.Weights, source, "weights"),
            ServerState = document.ServerState is null ? null : Unpack(document.ServerState, source, "serverState"),
        };
    }

    /// <summary>
    /// XxHash64 as 16 lowercase hex digits: a check against a damaged file (the checkpoint folder is the controller's
    /// own), kept so that checkpoints written before payloads moved to SHA-256 still read.
    /// </summary>
    private static string FileChecksum(ReadOnlySpan<byte> bytes) =>
        System.IO.Hashing.XxHash64.HashToUInt64(bytes).ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    private static PackedWeights Pack(ModelWeights weights)
    {
        var bytes = WeightCodec.Encode(weights);
        return new PackedWeights(WeightCodec.ContentType, FileChecksum(bytes), bytes);
    }

    private static ModelWeights Unpack(PackedWeights packed, string source, string field)
    {
        try
        {
            var bytes = packed.Data;
            var checksum = FileChecksum(bytes);
            if (!string.Equals(checksum, packed.Checksum, StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException($"checkpoint {source}: {field} checksum {checksum} does not match the recorded {packed.Checksum}");
            return WeightCodec.Decode(bytes);
        }
        catch (WeightPayloadException e)
        {
            throw new InvalidDataException($"checkpoint {source}: {field} unreadable: {e.Message}", e);
        }
    }

    private sealed record PackedWeights(string ContentType, string Checksum, [property: JsonConverter(typeof(Base64InSegments))] byte[] Data);

    /// <summary>
    /// Base64 as System.Text.Json writes byte arrays, but in segments: its one-call writer refuses more than
    /// 125 MB, and a 200 MB model must still checkpoint. The file reads back with any JSON library.
    /// </summary>
    private sealed class Base64InSegments : JsonConverter<byte[]>
    {
        private const int Segment = 48 * 1024 * 1024; // a multiple of 3: the segments' base64 joins without padding

        public override byte[] Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.String)
                throw new JsonException($"weights data must be a base64 string, got {reader.TokenType}");
            try
            {
                return reader.GetBytesFromBase64();
            }
            catch (FormatException e)
            {
                throw new JsonException($"weights data is not valid base64: {e.Message}", e);
            }
        }

        public override void Write(Utf8JsonWriter writer, byte[] value, JsonSerializerOptions options)
        {
            if (value.Length == 0)
            {
                writer.WriteBase64StringValue(value);
                return;
            }

            for (var offset = 0; offset < value.Length; offset += Segment)
            {
                var length = Math.Min(Segment, value.Length - offset);
                writer.WriteBase64StringSegment(value.AsSpan(offset, length), isFinalSegment: offset + length == value.Length);
            }
        }
    }

    private sealed class Document
    {
        public string? Format { get; init; }
        public Guid FederationId { get; init; }
        public int Round { get; init; }
        public int Attempt { get; init; }
        public RunConfig? RunConfig { get; init; }
        public ScalerParameters? Scaler { get; init; }
        public IReadOnlyList<ScalerParameters>? InputScalers { get; init; }
        public CheckpointMetrics? Metrics { get; init; }
        public PackedWeights? Weights { get; init; }
        public PackedWeights? ServerState { get; init; }
    }
}
