using IcosFl.Contracts;
using MassTransit;

namespace IcosFl.Infrastructure.Messaging;

/// <summary>How this process sends the messages that carry weights; it receives both formats whatever it sends.</summary>
public enum WeightsWireFormat
{
    /// <summary><see cref="BinaryEnvelopeSerializer"/>: inline weights as raw bytes after the JSON envelope.</summary>
    BinaryEnvelope,

    /// <summary>MassTransit's JSON envelope, inline weights as base64: what IcosFl sent before the binary envelope.</summary>
    Json,
}

public static class WeightsWire
{
    /// <summary>"binary" (the default) or "json": set "json" on upgraded processes while older ones still run.</summary>
    public const string EnvironmentVariable = "ICOSFL_WEIGHTS_WIRE";

    /// <summary>Every message type with a <see cref="WeightsPayload"/> or a weight chunk: these are sent as binary envelopes.</summary>
    public static readonly IReadOnlyList<Type> WeightCarryingMessages =
        [typeof(RoundStarted), typeof(EvaluationRequested), typeof(WeightUpdateSubmitted), typeof(RoundCompleted), typeof(WeightChunk), typeof(WeightChunkServed)];

    public static WeightsWireFormat FromEnvironment() => Parse(Environment.GetEnvironmentVariable(EnvironmentVariable));

    public static WeightsWireFormat Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "binary" => WeightsWireFormat.BinaryEnvelope,
        "json" => WeightsWireFormat.Json,
        _ => throw new ArgumentException($"{EnvironmentVariable} must be 'binary' or 'json', got '{value}'", nameof(value)),
    };

    /// <summary>
    /// Receives binary envelopes beside MassTransit's JSON (the default deserializer, so clients that
    /// publish plain JSON keep working) and, unless <paramref name="format"/> is Json, sends the
    /// weight-carrying messages as binary envelopes. Every other message stays JSON.
    /// </summary>
    public static void UseIcosFlWeightsWire(this IBusFactoryConfigurator cfg, WeightsWireFormat format)
    {
        var factory = new BinaryEnvelopeSerializerFactory();
        cfg.AddDeserializer(factory);
        if (format != WeightsWireFormat.BinaryEnvelope)
            return;
        cfg.AddSerializer(factory, isSerializer: false);
        cfg.Send<RoundStarted>(s => s.UseSerializer(BinaryEnvelopeSerializer.BinaryEnvelopeContentType));
        cfg.Send<EvaluationRequested>(s => s.UseSerializer(BinaryEnvelopeSerializer.BinaryEnvelopeContentType));
        cfg.Send<WeightUpdateSubmitted>(s => s.UseSerializer(BinaryEnvelopeSerializer.BinaryEnvelopeContentType));
        cfg.Send<RoundCompleted>(s => s.UseSerializer(BinaryEnvelopeSerializer.BinaryEnvelopeContentType));
        cfg.Send<WeightChunk>(s => s.UseSerializer(BinaryEnvelopeSerializer.BinaryEnvelopeContentType));
        cfg.Send<WeightChunkServed>(s => s.UseSerializer(BinaryEnvelopeSerializer.BinaryEnvelopeContentType));
    }
}
