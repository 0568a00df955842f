using System.Buffers.Binary;
using System.Reflection;
using System.Runtime.Serialization;
using System.Text;
using System.Text.Json;
using IcosFl.Contracts;
using IcosFl.Infrastructure.Messaging;
using MassTransit;
using MassTransit.Context;
using MassTransit.Serialization;

namespace IcosFl.Infrastructure.Tests.Messaging;

public class Sending_weights_in_binary_envelopes
{
    [Fact]
    public void Should_round_trip_every_weight_carrying_message_with_its_bytes_after_the_json()
    {
        foreach (var message in BinaryEnvelopeSamples.EveryWeightCarryingMessage())
        {
            var (back, body) = ((object, byte[]))typeof(Sending_weights_in_binary_envelopes)
                .GetMethod(nameof(RoundTrip), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(message.GetType()).Invoke(null, [message])!;

            Assert.Equal(JsonSerializer.Serialize(message), JsonSerializer.Serialize(back));
            var payloads = Payloads(message).ToList();
            Assert.Equal(Payloads(back).Select(p => p.Inline), payloads.Select(p => p.Inline));

            // The bytes follow the JSON raw, in order; the JSON holds only references (no base64).
            var jsonLength = BinaryPrimitives.ReadInt32LittleEndian(body.AsSpan(4));
            var json = Encoding.UTF8.GetString(body, 8, jsonLength);
            var sectionLength = payloads.Sum(p => p.Inline!.Length);
            Assert.Equal(8 + jsonLength + sectionLength, body.Length);
            Assert.Equal("IFB1", Encoding.ASCII.GetString(body, 0, 4));
            Assert.Contains("\"binaryOffset\":0", json);
            Assert.Contains($"urn:message:IcosFl.Contracts:{message.GetType().Name}", json);
            Assert.DoesNotContain(Convert.ToBase64String(payloads[0].Inline!.AsSpan(0, Math.Min(30, payloads[0].Inline!.Length))), json);
            Assert.True(jsonLength < 4096, $"the JSON part is {jsonLength} bytes");
        }
    }

    [Fact]
    public void Should_list_every_contract_that_carries_weights()
    {
        var carrying = typeof(WeightsPayload).Assembly.GetExportedTypes()
            .Where(t => t != typeof(WeightsPayload) && t.GetProperties().Any(p => p.PropertyType == typeof(WeightsPayload) || p.PropertyType == typeof(byte[])))
            .OrderBy(t => t.Name);
        Assert.Equal(carrying, WeightsWire.WeightCarryingMessages.OrderBy(t => t.Name));
        Assert.Equal(carrying, BinaryEnvelopeSamples.EveryWeightCarryingMessage().Select(m => m.GetType()).OrderBy(t => t.Name));
    }

    [Fact]
    public void Should_read_byte_arrays_written_as_base64_too()
    {
        // A hand-written body whose JSON carries the bytes as base64 (what MassTransit's JSON does).
        var body = Body("""{"messageType":["urn:message:IcosFl.Contracts:EvaluationRequested"],"message":{"federationId":"0b7d7c1e-8d0a-4f53-9a64-6b1f1a0f3c11","roundId":"5f0e1d2c-3b4a-4968-8776-655443322110","round":1,"workerId":"w","globalWeights":{"inline":"AQID","length":3,"checksum":"c"},"runConfig":{},"deadline":"2026-11-28T12:00:00+00:00"}}""", []);

        var message = Get<EvaluationRequested>(body);

        Assert.Equal([1, 2, 3], message.GlobalWeights.Inline);
    }

    [Fact]
    public void Should_refuse_a_body_shorter_than_its_header()
    {
        var e = Assert.Throws<SerializationException>(() => Deserialize([0x49, 0x46, 0x42]));
        Assert.Equal("application/vnd.icosfl.binary-envelope message is truncated: 3 bytes, shorter than its 8-byte header", e.Message);
    }

    [Fact]
    public void Should_refuse_a_body_that_is_not_a_binary_envelope()
    {
        var e = Assert.Throws<SerializationException>(() => Deserialize(Encoding.UTF8.GetBytes("{\"message\":{}}")));
        Assert.Contains("does not start with \"IFB1\" (got bytes 7B226D65)", e.Message);
    }

    [Fact]
    public void Should_refuse_a_body_whose_json_is_cut_off()
    {
        var body = Body("{\"messageType\":[]}", []);
        var e = Assert.Throws<SerializationException>(() => Deserialize(body[..12]));
        Assert.Equal("application/vnd.icosfl.binary-envelope message is truncated: its header declares 18 bytes of JSON but only 4 follow", e.Message);
    }

    [Theory]
    [InlineData("2", "10")]
    [InlineData("9223372036854775807", "1")] // offset + length would wrap around to a negative number
    [InlineData("1", "9223372036854775807")]
    public void Should_refuse_a_reference_past_the_end_of_the_binary_section(string offset, string length)
    {
        var body = Body("""{"messageType":["urn:message:IcosFl.Contracts:EvaluationRequested"],"message":{"federationId":"0b7d7c1e-8d0a-4f53-9a64-6b1f1a0f3c11","roundId":"5f0e1d2c-3b4a-4968-8776-655443322110","round":1,"workerId":"w","globalWeights":{"inline":{"binaryOffset":OFFSET,"binaryLength":LENGTH},"length":10,"checksum":"c"},"runConfig":{},"deadline":"2026-11-28T12:00:00+00:00"}}"""
            .Replace("OFFSET", offset).Replace("LENGTH", length), new byte[11]);

        var e = Assert.ThrowsAny<Exception>(() => Get<EvaluationRequested>(body));

        Assert.Contains($"binary-section reference (offset {offset}, length {length}) reaches past the end of the message's 11-byte binary section: the message body is truncated",
            Messages(e));
    }

    [Fact]
    public void Should_refuse_a_reference_without_its_length()
    {
        var body = Body("""{"messageType":["urn:message:IcosFl.Contracts:EvaluationRequested"],"message":{"globalWeights":{"inline":{"binaryOffset":0},"length":1,"checksum":"c"}}}""", new byte[1]);

        var e = Assert.ThrowsAny<Exception>(() => Get<EvaluationRequested>(body));

        Assert.Contains("a binary-section reference needs non-negative \"binaryOffset\" and \"binaryLength\", got 0 and nothing", Messages(e));
    }

    [Theory]
    [InlineData(null, WeightsWireFormat.BinaryEnvelope)]
    [InlineData("", WeightsWireFormat.BinaryEnvelope)]
    [InlineData("binary", WeightsWireFormat.BinaryEnvelope)]
    [InlineData(" JSON ", WeightsWireFormat.Json)]
    public void Should_read_the_wire_format_setting(string? value, WeightsWireFormat expected) =>
        Assert.Equal(expected, WeightsWire.Parse(value));

    [Fact]
    public void Should_name_the_setting_when_its_value_is_unknown()
    {
        var e = Assert.Throws<ArgumentException>(() => WeightsWire.Parse("msgpack"));
        Assert.StartsWith("ICOSFL_WEIGHTS_WIRE must be 'binary' or 'json', got 'msgpack'", e.Message);
    }

    private static (object Message, byte[] Body) RoundTrip<T>(T message)
        where T : class
    {
        var body = BinaryEnvelopeSerializer.Instance.GetMessageBody(new MessageSendContext<T>(message, CancellationToken.None)).GetBytes();
        return (Get<T>(body), body);
    }

    private static T Get<T>(byte[] body)
        where T : class
    {
        Assert.True(Deserialize(body).TryGetMessage<T>(out var message));
        return message!;
    }

    private static SerializerContext Deserialize(byte[] body) =>
        BinaryEnvelopeSerializer.Instance.Deserialize(new MemoryMessageBody(body), EmptyHeaders.Instance);

    private static byte[] Body(string json, byte[] section)
    {
        var utf8 = Encoding.UTF8.GetBytes(json);
        var body = new byte[8 + utf8.Length + section.Length];
        "IFB1"u8.CopyTo(body);
        BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(4), utf8.Length);
        utf8.CopyTo(body, 8);
        section.CopyTo(body, 8 + utf8.Length);
        return body;
    }

    private static IEnumerable<WeightsPayload> Payloads(object message) => message switch
    {
        RoundStarted m => [m.GlobalWeights],
        EvaluationRequested m => [m.GlobalWeights],
        WeightUpdateSubmitted m => [m.Weights],
        RoundCompleted m => [m.GlobalWeights, m.ServerState!],
        // Chunks carry raw bytes, not a payload: seen here as one, the bytes inline.
        WeightChunk m => [new WeightsPayload { Inline = m.Bytes, Length = m.Bytes.Length, Checksum = "" }],
        WeightChunkServed m => [new WeightsPayload { Inline = m.Bytes, Length = m.Bytes!.Length, Checksum = "" }],
        _ => throw new ArgumentException($"not a weight-carrying message: {message.GetType()}"),
    };

    private static string Messages(Exception e) => e.InnerException is null ? e.Message : $"{e.Message} | {Messages(e.InnerException)}";
}
