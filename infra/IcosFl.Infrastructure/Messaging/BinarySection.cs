using System.Text.Json;
using System.Text.Json.Serialization;

namespace IcosFl.Infrastructure.Messaging;

/// <summary>
/// The bytes that a binary-envelope message carries after its JSON: while a scope is open on the
/// current thread, every <c>byte[]</c> the JSON serializer meets is appended here and written in the
/// JSON as <c>{"binaryOffset": o, "binaryLength": n}</c>, and such a reference reads back from here.
/// </summary>
/// <remarks>
/// A thread-static scope rather than per-message serializer options: System.Text.Json caches its
/// metadata per options instance, and (de)serializing one message is synchronous on one thread.
/// </remarks>
internal sealed class BinarySection
{
    [ThreadStatic]
    private static BinarySection? current;

    private readonly List<byte[]> written = [];
    private readonly ReadOnlyMemory<byte> read;

    private BinarySection(ReadOnlyMemory<byte> read) => this.read = read;

    public long WrittenLength { get; private set; }

    public IReadOnlyList<byte[]> Written => written;

    /// <summary>Collects the byte arrays serialized on this thread until the scope is disposed.</summary>
    public static Scope BeginWrite() => new(new BinarySection(ReadOnlyMemory<byte>.Empty));

    /// <summary>Resolves byte-array references against <paramref name="section"/> until the scope is disposed.</summary>
    public static Scope BeginRead(ReadOnlyMemory<byte> section) => new(new BinarySection(section));

    public readonly struct Scope : IDisposable
    {
        private readonly BinarySection? previous;

        internal Scope(BinarySection section)
        {
            previous = current;
            current = section;
            Section = section;
        }

        public BinarySection Section { get; }

        public void Dispose() => current = previous;
    }

    /// <summary>Byte arrays as binary-section references inside a scope, as base64 strings outside one.</summary>
    internal sealed class ByteArrayConverter : JsonConverter<byte[]>
    {
        private const string OffsetName = "binaryOffset";
        private const string LengthName = "binaryLength";

        public override bool HandleNull => false;

        public override void Write(Utf8JsonWriter writer, byte[] value, JsonSerializerOptions options)
        {
            if (current is not { } section)
            {
                writer.WriteBase64StringValue(value);
                return;
            }

            writer.WriteStartObject();
            writer.WriteNumber(OffsetName, section.WrittenLength);
            writer.WriteNumber(LengthName, value.Length);
            writer.WriteEndObject();
            section.written.Add(value);
            section.WrittenLength += value.Length;
        }

        public override byte[]? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.String:
                    return reader.GetBytesFromBase64();
                case JsonTokenType.StartObject:
                    return ReadReference(ref reader);
                default:
                    throw new JsonException(
                        $"a byte array must be a base64 string or a binary-section reference {{\"{OffsetName}\": o, \"{LengthName}\": n}}, got {reader.TokenType}");
            }
        }

        private static byte[] ReadReference(ref Utf8JsonReader reader)
        {
            long? offset = null, length = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var property = reader.GetString();
                reader.Read();
                if (string.Equals(property, OffsetName, StringComparison.OrdinalIgnoreCase))
                    offset = reader.GetInt64();
                else if (string.Equals(property, LengthName, StringComparison.OrdinalIgnoreCase))
                    length = reader.GetInt64();
                else
                    reader.Skip();
            }

            if (offset is not { } o || length is not { } n || o < 0 || n < 0)
            {
                throw new JsonException(
                    $"a binary-section reference needs non-negative \"{OffsetName}\" and \"{LengthName}\", got {Show(offset)} and {Show(length)}");
            }

            if (current is not { } section)
            {
                throw new JsonException(
                    $"byte array given as a binary-section reference (offset {o}, length {n}) in a message that has no binary section: it was not sent as {BinaryEnvelopeSerializer.ContentTypeName}");
            }

            // Compared without adding, so that an offset near long.MaxValue cannot wrap around.
            if (o > section.read.Length || n > section.read.Length - o)
            {
                throw new JsonException(
                    $"binary-section reference (offset {o}, length {n}) reaches past the end of the message's {section.read.Length}-byte binary section: the message body is truncated");
            }

            return section.read.Slice((int)o, (int)n).ToArray();
        }

        private static string Show(long? value) => value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "nothing";
    }
}
