using IcosFl.Contracts;
using IcosFl.Infrastructure.Weights;
using MessagePack;
using static IcosFl.Infrastructure.Tests.Weights.WeightSamples;

namespace IcosFl.Infrastructure.Tests.Weights;

/// <summary>
/// A claim-checked payload is decoded chunk by chunk as it arrives (<see cref="WeightDecoder"/>): wherever the
/// chunk boundaries fall, in a header, in a tensor's data or inside one float, the outcome must be the one the
/// whole payload gives.
/// </summary>
public class Decoding_weights_in_pieces
{
    private static readonly byte[] Good = PayloadOf(
        ("a", "float32", [2], LittleEndian(1f, 2f)),
        ("empty", "float32", [0], []),
        ("lstm.bias_ih_l0", "float32", [2, 2], LittleEndian(1f, 2f, 3f, 4f)));

    private static ModelWeights InPieces(byte[] payload, int pieceLength) => InPieces(payload, _ => pieceLength);

    private static ModelWeights InPieces(byte[] payload, Func<int, int> pieceLength)
    {
        var decoder = new WeightDecoder(payload.Length);
        for (int offset = 0, i = 0; offset < payload.Length; i++)
        {
            var length = Math.Min(pieceLength(i), payload.Length - offset);
            decoder.Write(payload.AsSpan(offset, length));
            offset += length;
        }

        return decoder.Complete();
    }

    private static string Outcome(Func<ModelWeights> decode)
    {
        try
        {
            var model = decode();
            return string.Join("; ", model.Tensors.Select(t => $"{t.Name} [{string.Join(",", t.Shape)}] {string.Join(",", t.Data)}"));
        }
        catch (WeightPayloadException e)
        {
            return $"refused ({e.TensorIndex}, {e.TensorName}): {e.Message}";
        }
    }

    [Fact]
    public void Every_piece_length_decodes_the_same_model_as_the_whole_payload()
    {
        var whole = Outcome(() => WeightCodec.Decode(Good));
        Assert.StartsWith("a [2] 1,2; empty [0] ; lstm.bias_ih_l0 [2,2] 1,2,3,4", whole);

        for (var pieceLength = 1; pieceLength <= Good.Length; pieceLength++)
            Assert.Equal(whole, Outcome(() => InPieces(Good, pieceLength)));
    }

    [Fact]
    public void Pieces_of_uneven_lengths_and_empty_pieces_decode_the_same_model()
    {
        var random = new Random(7);
        var whole = Outcome(() => WeightCodec.Decode(Good));
        for (var trial = 0; trial < 200; trial++)
            Assert.Equal(whole, Outcome(() => InPieces(Good, _ => random.Next(0, 9))));
    }

    [Fact]
    public void A_large_tensor_arriving_in_chunks_is_copied_whole()
    {
        var values = Enumerable.Range(0, 300_000).Select(i => i * 0.5f - 7f).ToArray();
        var encoded = WeightCodec.Encode(new ModelWeights([new NamedTensor("w", [600, 500], values)]));

        var decoded = InPieces(encoded, 1024 * 1024 / 8 + 3);

        Assert.Equal(values, decoded.Tensors.Single().Data);
    }

    [Fact]
    public void Every_truncation_is_refused_in_pieces_with_the_message_of_the_whole_payload()
    {
        for (var length = 0; length < Good.Length; length++)
        {
            var cut = Good[..length];
            var whole = Outcome(() => WeightCodec.Decode(cut));
            Assert.Contains("truncated", whole);
            foreach (var pieceLength in new[] { 1, 2, 5 })
                Assert.Equal(whole, Outcome(() => InPieces(cut, pieceLength)));
        }
    }

    [Fact]
    public void Every_single_byte_corruption_has_the_same_outcome_whole_and_in_pieces()
    {
        // Each byte set to values that change its meaning in MessagePack (type codes, lengths, a NaN's exponent).
        byte[] replacements = [0x00, 0x01, 0x7f, 0x80, 0x90, 0x94, 0xa0, 0xc0, 0xc4, 0xc6, 0xca, 0xcc, 0xd9, 0xdc, 0xff];
        var refused = 0;
        for (var at = 0; at < Good.Length; at++)
        {
            foreach (var replacement in replacements)
            {
                var corrupt = (byte[])Good.Clone();
                corrupt[at] = replacement;
                var whole = Outcome(() => WeightCodec.Decode(corrupt));
                refused += whole.StartsWith("refused", StringComparison.Ordinal) ? 1 : 0;
                foreach (var pieceLength in new[] { 1, 3, 7 })
                    Assert.Equal(whole, Outcome(() => InPieces(corrupt, pieceLength)));
            }
        }

        Assert.True(refused > Good.Length * 5, $"only {refused} corruptions refused: the comparison hardly exercised the checks");
    }

    [Fact]
    public void A_nan_split_across_two_pieces_is_refused_naming_its_element()
    {
        var payload = PayloadOf(("w", "float32", [3], LittleEndian(1f, float.NaN, 3f)));
        var nanStarts = payload.Length - 8;

        var error = Assert.Throws<WeightPayloadException>(() => InPieces(payload, i => i == 0 ? nanStarts + 2 : 100));

        Assert.Equal("tensor 0 'w': element 1 is NaN; weights must be finite", error.Message);
    }

    [Fact]
    public void A_header_declaring_more_data_than_the_payload_holds_is_refused_without_allocating_for_it()
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
            w.Write(100_000_000);
            w.WriteBinHeader(400_000_000);
        });

        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<WeightPayloadException>(() => InPieces(payload, 5));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal($"tensor 0 'w': weights payload is truncated: the data's 400000000 bytes start at byte {payload.Length} of a {payload.Length}-byte payload", error.Message);
        Assert.True(allocated < 1_000_000, $"{allocated} bytes allocated for a payload of {payload.Length}");
    }

    [Fact]
    public void Bytes_after_the_last_tensor_are_counted_across_pieces()
    {
        byte[] payload = [.. Good, 0xc0, 0xc0, 0xc0];

        var error = Assert.Throws<WeightPayloadException>(() => InPieces(payload, 2));

        Assert.Equal("weights payload has 3 trailing bytes after its 3 tensors; it must end there", error.Message);
    }
}
