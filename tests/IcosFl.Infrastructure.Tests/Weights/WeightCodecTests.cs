using IcosFl.Contracts;
using IcosFl.Infrastructure.Weights;
using MessagePack;
using static IcosFl.Infrastructure.Tests.Weights.WeightSamples;

namespace IcosFl.Infrastructure.Tests.Weights;

public class Encoding_and_decoding_weights
{
    public static TheoryData<string> Shapes => new() { "scalar", "vector", "matrix", "3-D", "empty", "empty 3-D", "long names", "many tensors", "wide dims", "bin32" };

    private static ModelWeights Model(string kind) => kind switch
    {
        "scalar" => new([new NamedTensor("s", [], [3.25f])]),
        "vector" => new([new NamedTensor("linear.bias", [3], [-0.0f, float.Epsilon, float.MaxValue])]),
        "matrix" => new([new NamedTensor("linear.weight", [2, 3], Values(6, 1))]),
        "3-D" => new([new NamedTensor("conv.weight", [2, 3, 4], Values(24, 2)), new NamedTensor("conv.bias", [2], [1f, -1f])]),
        "empty" => new([new NamedTensor("none", [0], []), new NamedTensor("after", [1], [7f])]),
        "empty 3-D" => new([new NamedTensor("hollow", [3, 0, 2], [])]),
        // fixstr (<= 31 bytes), str8 (<= 255) and str16 names, and a non-ASCII one.
        "long names" => new([
            new NamedTensor(new string('a', 31), [1], [1f]),
            new NamedTensor(new string('b', 32), [1], [2f]),
            new NamedTensor(new string('c', 256), [1], [3f]),
            new NamedTensor("poids.état_ü_€", [1], [4f]),
        ]),
        // More than 15 tensors needs an array16 header.
        "many tensors" => new(Enumerable.Range(0, 20).Select(i => new NamedTensor($"t{i}", [i % 3], Values(i % 3, i))).ToList()),
        // Dimensions in uint8, uint16 and uint32 form; bin8 and bin16 data.
        "wide dims" => new([
            new NamedTensor("u8", [200], Values(200, 3)),
            new NamedTensor("u16", [70_000, 0], []),
            new NamedTensor("u16b", [300], Values(300, 4)),
        ]),
        "bin32" => new([new NamedTensor("big", [17_000], Values(17_000, 5))]),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Should_round_trip_exactly_and_re_encode_to_the_same_bytes(string kind)
    {
        var model = Model(kind);

        var encoded = WeightCodec.Encode(model);
        var decoded = WeightCodec.Decode(encoded);

        AssertSameWeights(model, decoded);
        Assert.Equal(encoded, WeightCodec.Encode(decoded));
    }

    [Fact]
    public void Should_round_trip_the_lstm_state_dict_in_order()
    {
        var model = Lstm(hidden: 64);

        var decoded = WeightCodec.Decode(WeightCodec.Encode(model));

        AssertSameWeights(model, decoded);
        Assert.Equal("lstm.weight_ih_l0", decoded.Tensors[0].Name);
        Assert.Equal("linear.bias", decoded.Tensors[^1].Name);
        Assert.Equal(model.ParameterCount, decoded.ParameterCount);
    }

    [Fact]
    public void Should_round_trip_a_model_of_several_megabytes()
    {
        var model = new ModelWeights([new NamedTensor("w", [1000, 3000], Values(3_000_000, 9)), new NamedTensor("b", [3000], Values(3000, 10))]);

        var encoded = WeightCodec.Encode(model);

        Assert.True(encoded.Length > 12_000_000);
        AssertSameWeights(model, WeightCodec.Decode(encoded));
    }

    [Fact]
    public void Should_write_exactly_the_documented_bytes_for_a_one_value_model()
    {
        var encoded = WeightCodec.Encode(new ModelWeights([new NamedTensor("b", [1], [0.5f])]));

        // [1, [["b", "float32", [1], bin(00 00 00 3f)]]]
        byte[] expected =
        [
            0x92, 0x01, 0x91,
            0x94, 0xa1, (byte)'b', 0xa7, .."float32"u8, 0x91, 0x01, 0xc4, 0x04, 0x00, 0x00, 0x00, 0x3f,
        ];
        Assert.Equal(expected, encoded);
    }

    [Fact]
    public void Should_decode_a_payload_written_by_hand_in_the_documented_format()
    {
        var payload = PayloadOf(
            ("lstm.weight_ih_l0", "float32", [4, 1], LittleEndian(1f, 2f, 3f, 4f)),
            ("hollow", "float32", [2, 0], []),
            ("linear.bias", "float32", [], LittleEndian(-0.125f)));

        var decoded = WeightCodec.Decode(payload);

        Assert.Equal(["lstm.weight_ih_l0", "hollow", "linear.bias"], decoded.Tensors.Select(t => t.Name));
        Assert.Equal([4, 1], decoded.Tensors[0].Shape);
        Assert.Equal([1f, 2f, 3f, 4f], decoded.Tensors[0].Data);
        Assert.Equal([2, 0], decoded.Tensors[1].Shape);
        Assert.Empty(decoded.Tensors[1].Data);
        Assert.Empty(decoded.Tensors[2].Shape);
        Assert.Equal([-0.125f], decoded.Tensors[2].Data);
        // And our encoder writes the very same bytes, so the format above is the whole story.
        Assert.Equal(payload, WeightCodec.Encode(decoded));
    }

    [Fact]
    public void Should_decode_from_a_slice_of_a_larger_buffer()
    {
        var encoded = WeightCodec.Encode(Lstm(hidden: 4));
        var framed = new byte[encoded.Length + 7];
        encoded.CopyTo(framed, 3);

        AssertSameWeights(Lstm(hidden: 4), WeightCodec.Decode(framed.AsMemory(3, encoded.Length)));
    }

    [Fact]
    public void Should_encode_an_empty_model()
    {
        var encoded = WeightCodec.Encode(new ModelWeights([]));

        Assert.Equal([0x92, 0x01, 0x90], encoded);
        Assert.Empty(WeightCodec.Decode(encoded).Tensors);
    }

    [Fact]
    public void Should_copy_every_value_after_a_nan_when_encoding_unchecked()
    {
        // Several 64 KiB copy chunks; the NaN sits in the first, the encoding must still hold all the rest.
        var data = Values(50_000, 6);
        data[3] = float.NaN;

        var encoded = WeightCodec.EncodeUnchecked(new ModelWeights([new NamedTensor("w", [data.Length], data)]));

        var tail = encoded.AsSpan(encoded.Length - data.Length * sizeof(float));
        Assert.True(tail.SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan())));
    }
}
