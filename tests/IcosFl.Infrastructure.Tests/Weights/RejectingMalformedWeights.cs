using IcosFl.Contracts;
using IcosFl.Infrastructure.Weights;
using MessagePack;
using static IcosFl.Infrastructure.Tests.Weights.WeightSamples;

namespace IcosFl.Infrastructure.Tests.Weights;

public class Rejecting_malformed_weights
{
    private static WeightPayloadException Rejects(byte[] payload) =>
        Assert.Throws<WeightPayloadException>(() => WeightCodec.Decode(payload));

    private static byte[] Good => PayloadOf(
        ("a", "float32", [2], LittleEndian(1f, 2f)),
        ("lstm.bias_ih_l0", "float32", [2, 2], LittleEndian(1f, 2f, 3f, 4f)));

    [Fact]
    public void Should_reject_an_empty_payload()
    {
        var error = Rejects([]);

        Assert.Contains("empty", error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void Should_reject_every_truncation_of_a_valid_payload()
    {
        var good = Good;
        for (var length = 0; length < good.Length; length++)
        {
            var error = Rejects(good[..length]);
            Assert.Contains("truncated", error.Message);
        }
    }

    [Fact]
    public void Should_name_the_tensor_whose_data_is_cut_off()
    {
        var good = Good;

        var error = Rejects(good[..^3]);

        Assert.StartsWith("tensor 1 'lstm.bias_ih_l0': weights payload is truncated", error.Message);
        Assert.Equal(1, error.TensorIndex);
        Assert.Equal("lstm.bias_ih_l0", error.TensorName);
    }

    [Fact]
    public void Should_reject_trailing_bytes()
    {
        var error = Rejects([.. Good, 0xc0, 0xc0]);

        Assert.Equal("weights payload has 2 trailing bytes after its 2 tensors; it must end there", error.Message);
        Assert.Null(error.TensorIndex);
    }

    [Fact]
    public void Should_reject_a_wrong_format_version()
    {
        var payload = Handwritten((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(2);
            w.WriteArrayHeader(0);
        });

        Assert.Equal("wrong weights format version 2: this build reads version 1", Rejects(payload).Message);
    }

    [Fact]
    public void Should_reject_a_payload_that_is_not_an_array()
    {
        var map = Handwritten((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(1);
            w.Write("version");
            w.Write(1);
        });

        Assert.StartsWith("weights payload is not a MessagePack array: it starts with a MessagePack map (code 0x81)", Rejects(map).Message);
        Assert.Contains("invalid MessagePack code 0xc1", Rejects([0xc1]).Message);
        Assert.Contains("is not a MessagePack array", Rejects("{\"tensors\":[]}"u8.ToArray()).Message);
    }

    [Fact]
    public void Should_reject_a_top_level_array_of_the_wrong_length()
    {
        var payload = Handwritten((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(3);
            w.Write(1);
            w.WriteArrayHeader(0);
            w.WriteNil();
        });

        Assert.Equal("weights payload must be an array of 2 [format-version, tensors], got 3 elements", Rejects(payload).Message);
    }

    [Fact]
    public void Should_reject_a_tensor_that_is_not_an_array_of_four()
    {
        var payload = Handwritten((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(1);
            w.WriteArrayHeader(1);
            w.WriteArrayHeader(3);
            w.Write("a");
            w.Write("float32");
            w.WriteArrayHeader(0);
        });

        var error = Rejects(payload);

        Assert.Equal("tensor 0: must be an array of 4 [name, dtype, shape, data], got 3 elements", error.Message);
        Assert.Equal(0, error.TensorIndex);
    }

    [Fact]
    public void Should_reject_data_whose_length_does_not_match_the_shape()
    {
        var payload = PayloadOf(("ok", "float32", [1], LittleEndian(1f)), ("w", "float32", [2, 3], LittleEndian(1, 2, 3, 4, 5)));

        var error = Rejects(payload);

        Assert.Equal("tensor 1 'w': shape [2, 3] describes 6 float32 values (24 bytes) but data has 20 bytes", error.Message);
        Assert.Equal("w", error.TensorName);
        Assert.Equal(1, error.TensorIndex);
    }

    [Fact]
    public void Should_reject_data_that_is_not_whole_floats()
    {
        var error = Rejects(PayloadOf(("w", "float32", [1], [1, 2, 3])));

        Assert.Equal("tensor 0 'w': shape [1] describes 1 float32 values (4 bytes) but data has 3 bytes", error.Message);
    }

    [Fact]
    public void Should_reject_a_negative_dimension()
    {
        var error = Rejects(PayloadOf(("w", "float32", [2, -3], [])));

        Assert.Equal("tensor 0 'w': shape[1] is negative (-3)", error.Message);
    }

    [Theory]
    [InlineData(2147483648L, "tensor 0 'w': shape[0] = 2147483648 overflows: a dimension must be at most 2147483647")]
    [InlineData(long.MaxValue, "tensor 0 'w': shape[0] = 9223372036854775807 overflows")]
    public void Should_reject_a_dimension_too_large_for_an_int(long dimension, string expected)
    {
        var error = Rejects(PayloadOf(("w", "float32", [dimension], [])));

        Assert.StartsWith(expected, error.Message);
    }

    [Fact]
    public void Should_reject_a_dimension_beyond_int64()
    {
        var payload = Handwritten((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(1);
            w.WriteArrayHeader(1);
            w.WriteArrayHeader(4);
            w.Write("w");
            w.Write("float32");
            w.WriteArrayHeader(1);
            w.Write(ulong.MaxValue);
            w.Write(Array.Empty<byte>());
        });

        Assert.StartsWith("tensor 0 'w': shape[0] = 18446744073709551615 overflows", Rejects(payload).Message);
    }

    [Fact]
    public void Should_reject_a_shape_whose_product_overflows()
    {
        var error = Rejects(PayloadOf(("w", "float32", [65_536, 65_536, 2], [])));

        Assert.StartsWith("tensor 0 'w': shape [65536, 65536, 2] overflows", error.Message);
    }

    [Fact]
    public void Should_reject_an_unknown_dtype()
    {
        var error = Rejects(PayloadOf(("a", "float32", [1], LittleEndian(1f)), ("w", "floaty", [1], LittleEndian(1f))));

        Assert.Equal("tensor 1 'w': unknown dtype 'floaty': expected 'float32'", error.Message);
    }

    [Theory]
    [InlineData("float16")]
    [InlineData("int64")]
    [InlineData("float64")]
    [InlineData("bfloat16")]
    public void Should_name_known_dtypes_as_unsupported(string dtype)
    {
        var error = Rejects(PayloadOf(("w", dtype, [1], new byte[8])));

        Assert.Equal($"tensor 0 'w': dtype '{dtype}' is not supported: IcosFl weights are float32", error.Message);
    }

    [Fact]
    public void Should_reject_duplicate_tensor_names()
    {
        var error = Rejects(PayloadOf(("a", "float32", [1], LittleEndian(1f)), ("b", "float32", [1], LittleEndian(1f)), ("a", "float32", [1], LittleEndian(2f))));

        Assert.Equal("tensor 2 'a': duplicate tensor name (also tensor 0)", error.Message);
        Assert.Equal(2, error.TensorIndex);
    }

    [Fact]
    public void Should_reject_an_empty_name()
    {
        var error = Rejects(PayloadOf(("a", "float32", [1], LittleEndian(1f)), ("", "float32", [1], LittleEndian(1f))));

        Assert.Equal("tensor 1: empty tensor name", error.Message);
        Assert.Equal(1, error.TensorIndex);
        Assert.Null(error.TensorName);
    }

    [Fact]
    public void Should_reject_a_name_that_is_not_a_string()
    {
        var payload = Handwritten((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(1);
            w.WriteArrayHeader(1);
            w.WriteArrayHeader(4);
            w.Write(7);
            w.Write("float32");
            w.WriteArrayHeader(0);
            w.Write(LittleEndian(1f));
        });

        Assert.Equal("tensor 0: name must be a string, got a MessagePack integer (code 0x07)", Rejects(payload).Message);
    }

    [Fact]
    public void Should_reject_a_name_that_is_not_utf8()
    {
        var payload = Handwritten((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(1);
            w.WriteArrayHeader(1);
            w.WriteArrayHeader(4);
            w.WriteString([0x61, 0xff, 0x62]);
            w.Write("float32");
            w.WriteArrayHeader(0);
            w.Write(LittleEndian(1f));
        });

        Assert.Equal("tensor 0: name is not valid UTF-8", Rejects(payload).Message);
    }

    [Fact]
    public void Should_reject_data_sent_as_a_string_instead_of_bin()
    {
        var payload = Handwritten((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(1);
            w.WriteArrayHeader(1);
            w.WriteArrayHeader(4);
            w.Write("w");
            w.Write("float32");
            w.WriteArrayHeader(1);
            w.Write(1);
            w.Write("\0\0\0?");
        });

        Assert.StartsWith("tensor 0 'w': data must be MessagePack bin (little-endian float32 bytes), got a MessagePack string", Rejects(payload).Message);
    }

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "+Infinity")]
    [InlineData(float.NegativeInfinity, "-Infinity")]
    public void Should_reject_non_finite_values_naming_the_element(float value, string named)
    {
        var values = Values(1024, 3);
        values[1000] = value;
        values[1001] = value;

        var error = Rejects(PayloadOf(("ok", "float32", [1], LittleEndian(1f)), ("lstm.weight_hh_l0", "float32", [32, 32], LittleEndian(values))));

        Assert.Equal($"tensor 1 'lstm.weight_hh_l0': element 1000 is {named}; weights must be finite", error.Message);
    }

    [Fact]
    public void Should_find_a_nan_in_the_first_and_the_last_element()
    {
        Assert.Contains("element 0 is NaN", Rejects(PayloadOf(("w", "float32", [3], LittleEndian(float.NaN, 1, 2)))).Message);
        Assert.Contains("element 36 is NaN", Rejects(PayloadOf(("w", "float32", [37], LittleEndian([.. new float[36], float.NaN])))).Message);
    }

    [Fact]
    public void Should_find_a_nan_far_into_a_large_tensor()
    {
        var values = Values(100_000, 4);
        values[70_001] = float.NaN;

        var decodeError = Rejects(PayloadOf(("big", "float32", [100_000], LittleEndian(values))));
        var encodeError = Assert.Throws<WeightPayloadException>(() => WeightCodec.Encode(new ModelWeights([new NamedTensor("big", [100_000], values)])));

        Assert.Equal("tensor 0 'big': element 70001 is NaN; weights must be finite", decodeError.Message);
        Assert.Equal(decodeError.Message, encodeError.Message);
    }

    [Fact]
    public void Should_refuse_to_encode_weights_it_would_refuse_to_decode()
    {
        static string EncodeError(params NamedTensor[] tensors) =>
            Assert.Throws<WeightPayloadException>(() => WeightCodec.Encode(new ModelWeights(tensors))).Message;

        Assert.Equal("tensor 0 'w': shape [2, 2] describes 4 float32 values but data has 3", EncodeError(new NamedTensor("w", [2, 2], [1, 2, 3])));
        Assert.Equal("tensor 0 'w': shape[0] is negative (-1)", EncodeError(new NamedTensor("w", [-1], [])));
        Assert.Equal("tensor 1 'w': duplicate tensor name (also tensor 0)", EncodeError(new NamedTensor("w", [1], [1]), new NamedTensor("w", [1], [2])));
        Assert.Equal("tensor 0: empty tensor name", EncodeError(new NamedTensor("", [1], [1])));
        Assert.Equal("tensor 0 'w': element 1 is NaN; weights must be finite", EncodeError(new NamedTensor("w", [2], [1, float.NaN])));
        Assert.Equal("tensor 0 'w\ud800': name is not valid Unicode (unpaired surrogate)", EncodeError(new NamedTensor("w\ud800", [1], [1])));
    }
}
