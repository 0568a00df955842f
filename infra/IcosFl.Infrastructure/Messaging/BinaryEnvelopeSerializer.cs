using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net.Mime;
using System.Runtime.Serialization;
using System.Text.Json;
using MassTransit;
using MassTransit.Serialization;

namespace IcosFl.Infrastructure.Messaging;

/// <summary>
/// MassTransit's JSON envelope with the byte arrays taken out of the JSON and appended as raw bytes,
/// so weights travel inline without base64 (a third larger) and without passing through a JSON parser.
/// </summary>
/// <remarks>
/// Body layout (content type <see cref="ContentTypeName"/>):
/// <code>
/// "IFB1" (4 ASCII bytes) | JSON length (int32, little-endian) | JSON | binary section
/// </code>
/// The JSON is exactly MassTransit's envelope (messageId, messageType, message, headers ...), except
/// that every byte array in the message is <c>{"binaryOffset": o, "binaryLength": n}</c>, a slice of
/// the binary section. Every other field stays readable; receivers accept this and MassTransit's JSON.
/// </remarks>
public sealed class BinaryEnvelopeSerializer : IMessageSerializer, IMessageDeserializer
{
    public const string ContentTypeName = "application/vnd.icosfl.binary-envelope";

    public static readonly ContentType BinaryEnvelopeContentType = new(ContentTypeName);

    public static readonly BinaryEnvelopeSerializer Instance = new();

    internal const int HeaderLength = 8;

    private static ReadOnlySpan<byte> Magic => "IFB1"u8;

    /// <summary>MassTransit's own JSON options (type names, camelCase, converters) plus the byte-array converter.</summary>
    internal static readonly JsonSerializerOptions Options = CreateOptions();

    public ContentType ContentType => BinaryEnvelopeContentType;

    public void Probe(ProbeContext context)
    {
        var scope = context.CreateScope("binary-envelope");
        scope.Add("contentType", ContentTypeName);
    }

    public MessageBody GetMessageBody<T>(SendContext<T> context)
        where T : class =>
        new BinaryEnvelopeMessageBody<T>(context);

    public ConsumeContext Deserialize(ReceiveContext receiveContext) =>
        new BodyConsumeContext(receiveContext, Deserialize(receiveContext.Body, receiveContext.TransportHeaders, receiveContext.InputAddress));

    public SerializerContext Deserialize(MessageBody body, Headers headers, Uri? destinationAddress = null)
    {
        var bytes = body.GetBytes();
        var (json, section) = Split(bytes);
        MessageEnvelope? envelope;
        try
        {
            envelope = JsonSerializer.Deserialize<MessageEnvelope>(json.Span, Options);
        }
        catch (JsonException e)
        {
            throw new SerializationException($"{ContentTypeName} message: its JSON envelope is malformed: {e.Message}", e);
        }

        if (envelope is null)
            throw new SerializationException($"{ContentTypeName} message: its JSON envelope is null");

        var messageContext = new EnvelopeMessageContext(envelope, SystemTextJsonMessageSerializer.Instance);
        return new BinaryEnvelopeSerializerContext(messageContext, envelope, section);
    }

    /// <summary>For a body kept as text (an outbox, an audit): base64, as <see cref="MessageBody.GetString"/> gives it.</summary>
    public MessageBody GetMessageBody(string text) => new MemoryMessageBody(Convert.FromBase64String(text));

    /// <summary>The JSON and the binary section of a body, or a <see cref="SerializationException"/> naming what is wrong.</summary>
    internal static (ReadOnlyMemory<byte> Json, ReadOnlyMemory<byte> Section) Split(byte[] body)
    {
        if (body.Length < HeaderLength)
        {
            throw new SerializationException(
                $"{ContentTypeName} message is truncated: {body.Length} bytes, shorter than its {HeaderLength}-byte header");
        }

        if (!body.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw new SerializationException(
                $"{ContentTypeName} message does not start with \"IFB1\" (got bytes {Convert.ToHexString(body, 0, Magic.Length)}): not written by this format version");
        }

        var jsonLength = BinaryPrimitives.ReadInt32LittleEndian(body.AsSpan(Magic.Length));
        if (jsonLength < 0 || jsonLength > body.Length - HeaderLength)
        {
            throw new SerializationException(
                $"{ContentTypeName} message is truncated: its header declares {jsonLength} bytes of JSON but only {body.Length - HeaderLength} follow");
        }

        return (body.AsMemory(HeaderLength, jsonLength), body.AsMemory(HeaderLength + jsonLength));
    }

    /// <summary>Header, JSON, then every byte array of the section in order: one allocation, one copy of each.</summary>
    internal static byte[] Join(ReadOnlySpan<byte> json, IReadOnlyList<byte[]> section, long sectionLength)
    {
        var total = HeaderLength + json.Length + sectionLength;
        if (total > Array.MaxLength)
            throw new SerializationException($"{ContentTypeName} message would be {total} bytes, more than one message body can hold");
        var body = GC.AllocateUninitializedArray<byte>((int)total);
        Magic.CopyTo(body);
        BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(Magic.Length), json.Length);
        json.CopyTo(body.AsSpan(HeaderLength));
        var offset = HeaderLength + json.Length;
        foreach (var bytes in section)
        {
            bytes.CopyTo(body, offset);
            offset += bytes.Length;
        }

        return body;
    }

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(SystemTextJsonMessageSerializer.Options) { WriteIndented = false };
        options.Converters.Insert(0, new BinarySection.ByteArrayConverter());
        return options;
    }
}

/// <summary>Serializes on first use, with the byte arrays collected into the binary section.</summary>
internal sealed class BinaryEnvelopeMessageBody<T>(SendContext<T> context) : MessageBody
    where T : class
{
    private byte[]? bytes;

    public long? Length => bytes?.Length;

    public Stream GetStream() => new MemoryStream(GetBytes(), writable: false);

    public byte[] GetBytes()
    {
        if (bytes is not null)
            return bytes;
        using var scope = BinarySection.BeginWrite();
        var json = new SystemTextJsonMessageBody<T>(context, BinaryEnvelopeSerializer.Options).GetBytes();
        bytes = BinaryEnvelopeSerializer.Join(json, scope.Section.Written, scope.Section.WrittenLength);
        return bytes;
    }

    public string GetString() => Convert.ToBase64String(GetBytes());
}

/// <summary>
/// MassTransit's JSON serializer context over the envelope, reading byte-array references from the
/// binary section. Re-serializing the envelope as it arrived (forwarding) keeps the binary section;
/// serializing a message object gives MassTransit's plain JSON (base64 byte arrays).
/// </summary>
internal sealed class BinaryEnvelopeSerializerContext : SystemTextJsonSerializerContext
{
    private readonly MessageEnvelope envelope;
    private readonly ReadOnlyMemory<byte> section;

    public BinaryEnvelopeSerializerContext(MessageContext messageContext, MessageEnvelope envelope, ReadOnlyMemory<byte> section)
        : base(SystemTextJsonMessageSerializer.Instance, BinaryEnvelopeSerializer.Options,
            SystemTextJsonMessageSerializer.JsonContentType, messageContext, envelope.MessageType ?? [], envelope)
    {
        this.envelope = envelope;
        this.section = section;
    }

    public override bool TryGetMessage<T>(out T? message)
        where T : class
    {
        using var scope = BinarySection.BeginRead(section);
        return base.TryGetMessage(out message);
    }

    public override bool TryGetMessage(Type messageType, [NotNullWhen(true)] out object? message)
    {
        using var scope = BinarySection.BeginRead(section);
        return base.TryGetMessage(messageType, out message);
    }

    public override IMessageSerializer GetMessageSerializer() => new EnvelopeForwarder(envelope, section);

    /// <summary>The received envelope as it came (byte-array references intact) with the same binary section.</summary>
    private sealed class EnvelopeForwarder(MessageEnvelope envelope, ReadOnlyMemory<byte> section) : IMessageSerializer
    {
        public ContentType ContentType => BinaryEnvelopeSerializer.BinaryEnvelopeContentType;

        public MessageBody GetMessageBody<T>(SendContext<T> context)
            where T : class
        {
            var json = new SystemTextJsonBodyMessageSerializer(envelope, SystemTextJsonMessageSerializer.JsonContentType,
                BinaryEnvelopeSerializer.Options, envelope.MessageType ?? []).GetMessageBody(context).GetBytes();
            return new MemoryMessageBody(BinaryEnvelopeSerializer.Join(json, [section.ToArray()], section.Length));
        }
    }
}

/// <summary>Registers <see cref="BinaryEnvelopeSerializer"/> with MassTransit.</summary>
public sealed class BinaryEnvelopeSerializerFactory : ISerializerFactory
{
    public ContentType ContentType => BinaryEnvelopeSerializer.BinaryEnvelopeContentType;

    public IMessageSerializer CreateSerializer() => BinaryEnvelopeSerializer.Instance;

    public IMessageDeserializer CreateDeserializer() => BinaryEnvelopeSerializer.Instance;
}
