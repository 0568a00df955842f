using IcosFl.Contracts;
using IcosFl.Infrastructure.Weights;

namespace IcosFl.Infrastructure.Tests.Weights;

/// <summary>
/// A claim-checked encoding is handed to the store in 1 MiB pieces as it is produced: every piece but the last is
/// exactly full wherever headers and data fall, and together they are the encoding.
/// </summary>
public class Packing_in_chunks
{
    private const int MiB = 1024 * 1024;

    public static TheoryData<int> FirstTensorLengths => new()
    {
        MiB / 4 - 20, // the second tensor's header straddles the first chunk boundary
        MiB / 4 - 3,
        MiB / 4 - 1,
        MiB / 4,
        700_000,
    };

    [Theory]
    [MemberData(nameof(FirstTensorLengths))]
    public async Task Every_piece_but_the_last_is_one_full_chunk_and_together_they_are_the_encoding(int firstTensorLength)
    {
        var model = new ModelWeights(
        [
            new NamedTensor("lstm.weight_ih_l0", [firstTensorLength], Enumerable.Range(0, firstTensorLength).Select(i => i * 1e-3f).ToArray()),
            new NamedTensor("lstm.bias_ih_l0", [300_000], Enumerable.Range(0, 300_000).Select(i => -i * 1e-3f).ToArray()),
        ]);
        var store = new ObservingStore(TimeSpan.Zero);
        var transport = new WeightTransport(store, new WeightTransportOptions { InlineThresholdBytes = 0 });

        var payload = await transport.PackAsync(model, "test:chunks");

        var encoding = WeightCodec.Encode(model);
        Assert.All(store.Pieces[..^1], piece => Assert.Equal(MiB, piece.Length));
        Assert.InRange(store.Pieces[^1].Length, 1, MiB);
        Assert.Equal(encoding, store.Pieces.SelectMany(p => p));
        Assert.Equal(WeightTransport.Checksum(encoding), payload.Checksum);
        Assert.Equal(encoding.Length, payload.Length);
        var unpacked = await transport.UnpackAsync(payload);
        Assert.Equal(model.Tensors.Select(t => t.Data), unpacked.Tensors.Select(t => t.Data));
    }

    [Fact]
    public async Task At_most_eight_pieces_are_on_their_way_to_the_store_at_once()
    {
        var store = new ObservingStore(TimeSpan.FromMilliseconds(2));
        var transport = new WeightTransport(store, new WeightTransportOptions { InlineThresholdBytes = 0 });
        var values = Enumerable.Range(0, 10_000_000).Select(i => i * 1e-7f).ToArray();
        var model = new ModelWeights([new NamedTensor("w", [values.Length], values)]);

        var payload = await transport.PackAsync(model, "test:window");

        Assert.Equal(39, store.Pieces.Count); // 40 MB in 1 MiB pieces
        Assert.InRange(store.MostPending, 2, 8);
        Assert.Equal(values, (await transport.UnpackAsync(payload)).Tensors.Single().Data);
    }

    /// <summary>
    /// Records each appended piece (copied: the packer reuses its chunks) and stores it at once in memory, but reports
    /// it stored only <paramref name="reportDelay"/> later, counting the pieces not yet reported.
    /// </summary>
    private sealed class ObservingStore(TimeSpan reportDelay) : IClaimCheckStore
    {
        private readonly InMemoryClaimCheckStore _inner = new();
        private int _pending;
        private int _mostPending;

        public List<byte[]> Pieces { get; } = [];

        public TimeSpan ReportDelay { get; } = reportDelay;

        public int MostPending => Volatile.Read(ref _mostPending);

        public IClaimCheckUpload BeginPut(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default) =>
            new Observed(this, ((IClaimCheckStore)_inner).BeginPut(key, timeToLive, cancellationToken));

        public Task PutAsync(string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, CancellationToken cancellationToken = default) =>
            _inner.PutAsync(key, payload, timeToLive, cancellationToken);

        public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default) => _inner.GetAsync(key, cancellationToken);

        public Task DeleteAsync(string key, CancellationToken cancellationToken = default) => _inner.DeleteAsync(key, cancellationToken);

        private sealed class Observed(ObservingStore store, IClaimCheckUpload inner) : IClaimCheckUpload
        {
            public async Task AppendAsync(ReadOnlyMemory<byte> piece)
            {
                lock (store.Pieces)
                    store.Pieces.Add(piece.ToArray());
                await inner.AppendAsync(piece); // the in-memory store copies the piece before it returns
                if (store.ReportDelay <= TimeSpan.Zero)
                    return;
                var now = Interlocked.Increment(ref store._pending);
                int seen;
                while (now > (seen = Volatile.Read(ref store._mostPending)) && Interlocked.CompareExchange(ref store._mostPending, now, seen) != seen)
                {
                }

                await Task.Delay(store.ReportDelay);
                Interlocked.Decrement(ref store._pending);
            }

            public Task CompleteAsync(CancellationToken cancellationToken = default) => inner.CompleteAsync(cancellationToken);

            public Task AbortAsync() => inner.AbortAsync();
        }
    }
}
