using System.Buffers.Binary;
using System.Text;
using IcosFl.Contracts;
using IcosFl.Learning.Export;

namespace IcosFl.Learning.Tests.Export;

public sealed class SafeTensorsTests
{
    // hidden 1, 1 layer: every tensor small enough to write its header out by hand.
    private const string ExpectedJson =
        "{\"__metadata__\":{\"format\":\"pt\"}," +
        "\"lstm.weight_ih_l0\":{\"dtype\":\"F32\",\"shape\":[4,1],\"data_offsets\":[0,16]}," +
        "\"lstm.weight_hh_l0\":{\"dtype\":\"F32\",\"shape\":[4,1],\"data_offsets\":[16,32]}," +
        "\"lstm.bias_ih_l0\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[32,48]}," +
        "\"lstm.bias_hh_l0\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[48,64]}," +
        "\"linear.weight\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[64,68]}," +
        "\"linear.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[68,72]}}";

    [Fact]
    public void Header_is_byte_exact_with_its_length_and_space_padding_to_8()
    {
        var bytes = SafeTensors.Write(Tiny());

        // 449 bytes of JSON + 7 spaces = 456, a multiple of 8.
        Assert.Equal(449, ExpectedJson.Length);
        Assert.Equal(456UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        Assert.Equal([0xC8, 0x01, 0, 0, 0, 0, 0, 0], bytes[..8]);
        Assert.Equal(ExpectedJson + "       ", Encoding.UTF8.GetString(bytes, 8, 456));
        Assert.Equal(8 + 456 + 72, bytes.Length);
    }

    [Fact]
    public void Data_is_little_endian_float32_in_state_dict_order()
    {
        var bytes = SafeTensors.Write(Tiny());
        int data = 8 + 456;

        // lstm.weight_ih_l0[0] = 1.0f = 0x3F800000, linear.bias = -2.5f = 0xC0200000.
        Assert.Equal([0x00, 0x00, 0x80, 0x3F], bytes[data..(data + 4)]);
        Assert.Equal([0x00, 0x00, 0x20, 0xC0], bytes[(data + 68)..(data + 72)]);
    }

    [Fact]
    public void Round_trip_is_exact_for_every_value()
    {
        var weights = LocalTraining.InitialWeights(RunConfig.Default with { HiddenLayerSize = 7, NumLayers = 2, Seed = 3 });

        var (read, metadata) = SafeTensors.Read(SafeTensors.Write(weights));

        Assert.Equal("pt", metadata["format"]);
        Assert.Equal(weights.Tensors.Select(t => t.Name), read.Tensors.Select(t => t.Name));
        for (int t = 0; t < weights.Tensors.Count; t++)
        {
            Assert.Equal(weights.Tensors[t].Shape, read.Tensors[t].Shape);
            Assert.Equal(weights.Tensors[t].Data, read.Tensors[t].Data); // bit for bit: float equality, no tolerance
        }
    }

    [Fact]
    public void Rejects_a_truncated_file_naming_the_tensor()
    {
        var bytes = SafeTensors.Write(Tiny());

        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(bytes.AsSpan(0, bytes.Length - 4)));

        Assert.Contains("'linear.bias'", e.Message);
        Assert.Contains("[68, 72]", e.Message);
    }

    [Fact]
    public void Rejects_another_dtype_and_a_header_longer_than_the_file()
    {
        var json = Encoding.UTF8.GetBytes("{\"w\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]}}");
        var file = new byte[8 + json.Length + 2];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);

        Assert.Contains("tensor 'w' has dtype F16", Assert.Throws<InvalidDataException>(() => SafeTensors.Read(file)).Message);

        BinaryPrimitives.WriteUInt64LittleEndian(file, 10_000);
        Assert.Contains("header length 10000", Assert.Throws<InvalidDataException>(() => SafeTensors.Read(file)).Message);
    }

    internal static ModelWeights Tiny() => new(LstmLayout.Tensors(1, 1)
        .Select(spec => new NamedTensor(spec.Name, spec.Shape, spec.Name == "linear.bias"
            ? [-2.5f]
            : Enumerable.Range(0, spec.ElementCount).Select(i => 1f + i).ToArray()))
        .ToList());
}
