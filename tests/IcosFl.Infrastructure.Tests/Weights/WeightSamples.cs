using System.Buffers;
using IcosFl.Contracts;
using MessagePack;

namespace IcosFl.Infrastructure.Tests.Weights;

/// <summary>Models and hand-written payloads shared by the weight tests.</summary>
internal static class WeightSamples
{
    public delegate void PayloadWriter(ref MessagePackWriter writer);

    /// <summary>Writes a payload by hand with MessagePack's low-level writer, as another client would.</summary>
    public static byte[] Handwritten(PayloadWriter write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes one tensor [name, dtype, shape, data] with the data given as raw little-endian bytes.</summary>
    public static void Tensor(ref MessagePackWriter writer, string name, string dtype, long[] shape, byte[] data)
    {
        writer.WriteArrayHeader(4);
        writer.Write(name);
        writer.Write(dtype);
        writer.WriteArrayHeader(shape.Length);
        foreach (var dimension in shape)
        {
            writer.Write(dimension);
        }

        writer.Write(data);
    }

    public static byte[] LittleEndian(params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        }

        return bytes;
    }

    /// <summary>A payload of the given tensors, written by hand in the documented layout.</summary>
    public static byte[] PayloadOf(params (string Name, string Dtype, long[] Shape, byte[] Data)[] tensors) =>
        Handwritten((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(1);
            w.WriteArrayHeader(tensors.Length);
            foreach (var (name, dtype, shape, data) in tensors)
            {
                Tensor(ref w, name, dtype, shape, data);
            }
        });

    /// <summary>Deterministic values with varied magnitudes and signs, all finite.</summary>
    public static float[] Values(int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-6, 6)));
        }

        return values;
    }

    /// <summary>The tensors of ICOS-FL's LSTM (input 1, hidden h, 2 layers) in state_dict order.</summary>
    public static ModelWeights Lstm(int hidden, int seed = 1)
    {
        var tensors = new List<NamedTensor>();
        var n = 0;
        void Add(string name, params int[] shape) =>
            tensors.Add(new NamedTensor(name, shape, Values(shape.Aggregate(1, (a, b) => a * b), seed + n++)));
        for (var layer = 0; layer < 2; layer++)
        {
            Add($"lstm.weight_ih_l{layer}", 4 * hidden, layer == 0 ? 1 : hidden);
            Add($"lstm.weight_hh_l{layer}", 4 * hidden, hidden);
            Add($"lstm.bias_ih_l{layer}", 4 * hidden);
            Add($"lstm.bias_hh_l{layer}", 4 * hidden);
        }

        Add("linear.weight", 1, hidden);
        Add("linear.bias", 1);
        return new ModelWeights(tensors);
    }

    public static void AssertSameWeights(ModelWeights expected, ModelWeights actual)
    {
        Assert.Equal(expected.Tensors.Count, actual.Tensors.Count);
        for (var i = 0; i < expected.Tensors.Count; i++)
        {
            var (e, a) = (expected.Tensors[i], actual.Tensors[i]);
            Assert.Equal(e.Name, a.Name);
            Assert.Equal(e.Shape, a.Shape);
            // Bitwise, so -0.0 and every last mantissa bit must survive.
            Assert.Equal(
                e.Data.Select(BitConverter.SingleToInt32Bits).ToArray(),
                a.Data.Select(BitConverter.SingleToInt32Bits).ToArray());
        }
    }
}
