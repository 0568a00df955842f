using IcosFl.Contracts;
using IcosFl.Infrastructure.Redis;
using IcosFl.Infrastructure.Weights;
using IcosFl.Integration.Tests.Servers;
using StackExchange.Redis;

namespace IcosFl.Integration.Tests.LargeModels;

/// <summary>
/// RedisClaimCheckStore on the real Redis: chunk layout, time to live, and what a reader sees when entries are gone;
/// the same for chunks on the store's own connections and through the multiplexer.
/// </summary>
public abstract class Storing_payloads_in_redis(TestServers servers, bool direct) : IAsyncLifetime
{
    protected const int Chunk = 1024 * 1024;
    private IConnectionMultiplexer _redis = null!;
    private readonly string _key = $"icosfl:test:claim:{Guid.NewGuid():N}";
    private readonly List<RedisClaimCheckStore> _stores = [];

    private IDatabase Db => _redis.GetDatabase();

    public async Task InitializeAsync() => _redis = await ConnectionMultiplexer.ConnectAsync(servers.RedisConfiguration);

    public async Task DisposeAsync()
    {
        await Store().DeleteAsync(_key);
        foreach (var store in _stores)
            store.Dispose();
        _redis.Dispose();
    }

    /// <summary>A store on this class's kind of chunk connections.</summary>
    private RedisClaimCheckStore Store(int chunkBytes = Chunk)
    {
        var store = new RedisClaimCheckStore(_redis, chunkBytes, direct);
        Assert.Equal(direct, store.UsesDirectConnections);
        _stores.Add(store);
        return store;
    }

    /// <summary>Every piece StreamAsync handed over, in order.</summary>
    protected abstract void AssertPieces(int[] chunkLengths, IReadOnlyList<byte[]> pieces);

    [Fact]
    public async Task A_payload_is_split_into_chunks_under_one_header_and_read_back_byte_for_byte()
    {
        var payload = Bytes(5 * Chunk + 123);
        var store = Store();

        await store.PutAsync(_key, payload, TimeSpan.FromMinutes(10));

        Assert.Equal("6:5243003", (string?)await Db.StringGetAsync($"{_key}:n"));
        for (var i = 0; i < 5; i++)
            Assert.Equal(Chunk, await Db.StringLengthAsync($"{_key}:{i}"));
        Assert.Equal(123, await Db.StringLengthAsync($"{_key}:5"));
        Assert.False(await Db.KeyExistsAsync($"{_key}:6"));
        Assert.Equal(payload, await store.GetAsync(_key));
    }

    [Fact]
    public async Task Every_chunk_and_the_header_carry_the_time_to_live()
    {
        var store = Store();
        await store.PutAsync(_key, Bytes(3 * Chunk), TimeSpan.FromMinutes(10));

        foreach (var suffix in new[] { "n", "0", "1", "2" })
        {
            var ttl = await Db.KeyTimeToLiveAsync($"{_key}:{suffix}");
            Assert.NotNull(ttl);
            Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(9.5), TimeSpan.FromMinutes(10));
        }
    }

    [Fact]
    public async Task An_expired_entry_is_a_clear_error_naming_the_key_when_the_weights_are_unpacked()
    {
        var store = Store();
        var transport = new WeightTransport(store, new WeightTransportOptions { InlineThresholdBytes = 1024, ClaimCheckTimeToLive = TimeSpan.FromMinutes(5) });
        var payload = await transport.PackAsync(Model(600_000), "expiry");
        Assert.NotNull(payload.ClaimCheckKey);

        // Redis's own expiry: an expiry time in the past removes the keys at once.
        foreach (var key in new[] { "n", "0", "1", "2" }.Select(s => (RedisKey)$"{payload.ClaimCheckKey}:{s}"))
            Assert.True(await Db.KeyExpireAsync(key, DateTime.UtcNow.AddSeconds(-1)));

        var error = await Assert.ThrowsAsync<WeightPayloadException>(() => transport.UnpackAsync(payload));
        Assert.Equal($"claim-check key '{payload.ClaimCheckKey}' is missing or expired: the weights are no longer in the claim-check store (time-to-live 00:05:00)", error.Message);
    }

    [Fact]
    public async Task Whether_a_payload_is_there_is_one_look_at_its_header()
    {
        var store = Store();
        Assert.False(await store.ContainsAsync(_key));
        await store.PutAsync(_key, Bytes(2 * Chunk + 5), TimeSpan.FromMinutes(10));
        Assert.True(await store.ContainsAsync(_key));

        // As a restarted payload Redis (no persistence) or an expiry leaves it: the header gone with the chunks.
        await Db.KeyDeleteAsync([$"{_key}:n", $"{_key}:0", $"{_key}:1", $"{_key}:2"]);
        Assert.False(await store.ContainsAsync(_key));
    }

    [Fact]
    public async Task A_lost_chunk_reads_as_missing_not_as_short_weights()
    {
        var store = Store();
        await store.PutAsync(_key, Bytes(3 * Chunk), TimeSpan.FromMinutes(10));
        await Db.KeyDeleteAsync($"{_key}:1");

        Assert.Null(await store.GetAsync(_key));
    }

    [Fact]
    public async Task Streaming_hands_over_the_chunks_in_order_and_a_lost_chunk_reads_as_missing()
    {
        var payload = Bytes(4 * Chunk + 77);
        var store = Store();
        await store.PutAsync(_key, payload, TimeSpan.FromMinutes(10));

        var pieces = new List<byte[]>();
        Assert.Equal(payload.Length, await store.StreamAsync(_key, piece => pieces.Add(piece.ToArray())));
        AssertPieces([Chunk, Chunk, Chunk, Chunk, 77], pieces);
        Assert.Equal(payload, pieces.SelectMany(p => p));

        await Db.KeyDeleteAsync($"{_key}:3");
        Assert.Null(await store.StreamAsync(_key, _ => { }));
        Assert.Null(await store.StreamAsync($"{_key}:never-put", _ => { }));
    }

    [Fact]
    public async Task The_default_chunk_is_one_mebibyte()
    {
        var store = Store(RedisClaimCheckStore.DefaultChunkBytes);
        await store.PutAsync(_key, Bytes(2 * 1024 * 1024 + 5), TimeSpan.FromMinutes(10));

        Assert.Equal("3:2097157", (string?)await Db.StringGetAsync($"{_key}:n"));
        Assert.Equal(1024 * 1024, await Db.StringLengthAsync($"{_key}:0"));
        Assert.Equal(5, await Db.StringLengthAsync($"{_key}:2"));
    }

    [Fact]
    public async Task A_header_not_written_by_the_store_is_an_error_naming_key_and_content()
    {
        await Db.StringSetAsync($"{_key}:n", "garbage", TimeSpan.FromMinutes(1));

        var error = await Assert.ThrowsAsync<WeightPayloadException>(() => Store().GetAsync(_key));
        Assert.Contains($"claim-check key '{_key}'", error.Message);
        Assert.Contains("holds 'garbage', expected '<chunk count>:<total length>'", error.Message);
    }

    [Fact]
    public async Task Deleting_removes_the_header_and_every_chunk()
    {
        var store = Store();
        await store.PutAsync(_key, Bytes(2 * Chunk + 1), TimeSpan.FromMinutes(10));

        await store.DeleteAsync(_key);

        foreach (var suffix in new[] { "n", "0", "1", "2" })
            Assert.False(await Db.KeyExistsAsync($"{_key}:{suffix}"), $"{_key}:{suffix} survived the delete");
        Assert.Null(await store.GetAsync(_key));
    }

    [Fact]
    public async Task Pieces_are_written_as_they_are_appended_and_the_header_only_at_completion()
    {
        var payload = Bytes(3 * Chunk + 10);
        var upload = Store().BeginPut(_key, TimeSpan.FromMinutes(10));

        // A piece longer than a chunk is written as several, the last one shorter.
        await upload.AppendAsync(payload.AsMemory(0, 2 * Chunk + 5));
        Assert.True(await Db.KeyExistsAsync($"{_key}:0"));
        Assert.True(await Db.KeyExistsAsync($"{_key}:1"));
        Assert.Equal(5, (await Db.StringGetAsync($"{_key}:2")).Length());
        Assert.False(await Db.KeyExistsAsync($"{_key}:3")); // not appended yet
        Assert.False(await Db.KeyExistsAsync($"{_key}:n")); // readers see nothing until it is complete
        Assert.Null(await Store().GetAsync(_key));

        await upload.AppendAsync(payload.AsMemory(2 * Chunk + 5));
        await upload.CompleteAsync();

        Assert.Equal("5:3145738", (string?)await Db.StringGetAsync($"{_key}:n"));
        Assert.Equal(payload, await Store().GetAsync(_key));
    }

    [Fact]
    public async Task Weights_refused_half_way_through_packing_leave_no_chunk_behind()
    {
        var hint = $"test:nan:{Guid.NewGuid():N}";
        var transport = new WeightTransport(Store(), new WeightTransportOptions { InlineThresholdBytes = 0 });
        var data = Enumerable.Range(0, 2_000_000).Select(i => i * 1e-6f).ToArray();
        data[1_500_000] = float.PositiveInfinity; // 6 MB in: five chunks already sent

        var error = await Assert.ThrowsAsync<WeightPayloadException>(() =>
            transport.PackAsync(new ModelWeights([new NamedTensor("w", [data.Length], data)]), hint));

        Assert.Contains("element 1500000 is +Infinity", error.Message);
        var server = _redis.GetServer(_redis.GetEndPoints()[0]);
        Assert.Empty(server.Keys(pattern: $"{WeightTransport.KeyPrefix}{hint}:*"));
    }

    [Fact]
    public async Task A_byte_changed_in_a_stored_chunk_is_a_checksum_mismatch_naming_the_key()
    {
        var transport = new WeightTransport(Store(), new WeightTransportOptions { InlineThresholdBytes = 0 });
        var payload = await transport.PackAsync(Model(700_000), $"test:tamper:{Guid.NewGuid():N}"); // 2.8 MB: three chunks
        try
        {
            // The middle chunk: hashed as it arrives, between the other two.
            var middle = $"{payload.ClaimCheckKey}:1";
            var original = (byte[])(await Db.StringGetRangeAsync(middle, 1000, 1000))!;
            await Db.StringSetRangeAsync(middle, 1000, new[] { (byte)~original[0] });

            var error = await Assert.ThrowsAsync<WeightPayloadException>(() => transport.UnpackAsync(payload));
            Assert.StartsWith($"claim-check key '{payload.ClaimCheckKey}': checksum mismatch: declared {payload.Checksum}, computed ", error.Message);
        }
        finally
        {
            await Store().DeleteAsync(payload.ClaimCheckKey!);
        }
    }

    [Fact]
    public void A_chunk_size_below_one_byte_is_refused() =>
        Assert.Equal("chunkBytes", Assert.Throws<ArgumentOutOfRangeException>(() => new RedisClaimCheckStore(_redis, 0, direct)).ParamName);

    internal static byte[] Bytes(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A weights-only model of the given number of float32 parameters in four tensors, values from a fixed seed.</summary>
    internal static ModelWeights Model(int parameters)
    {
        var random = new Random(parameters);
        var tensors = new List<NamedTensor>();
        var left = parameters;
        for (var i = 0; i < 4; i++)
        {
            var size = i == 3 ? left : parameters / 4;
            left -= size;
            var data = new float[size];
            for (var j = 0; j < size; j++)
                data[j] = (float)(random.NextDouble() - 0.5);
            tensors.Add(new NamedTensor($"layer{i}.weight", [size], data));
        }
        return new ModelWeights(tensors);
    }
}

/// <summary>Chunks on the store's own RESP connections (a plain Redis, as deployed).</summary>
[Collection(ServersCollection.Name)]
public sealed class Storing_payloads_in_redis_on_direct_connections(TestServers servers) : Storing_payloads_in_redis(servers, direct: true)
{
    /// <summary>Pieces as they come off the socket: none longer than a chunk, none spanning two.</summary>
    protected override void AssertPieces(int[] chunkLengths, IReadOnlyList<byte[]> pieces)
    {
        Assert.All(pieces, p => Assert.InRange(p.Length, 1, Chunk));
        var sums = new List<int>();
        var sum = 0;
        foreach (var piece in pieces)
        {
            sum += piece.Length;
            if (sums.Count < chunkLengths.Length && sum == chunkLengths.Take(sums.Count + 1).Sum())
                sums.Add(sum);
        }

        Assert.Equal(chunkLengths.Length, sums.Count);
    }
}

/// <summary>Chunks through the multiplexer (TLS, several endpoints, Sentinel).</summary>
[Collection(ServersCollection.Name)]
public sealed class Storing_payloads_in_redis_through_the_multiplexer(TestServers servers) : Storing_payloads_in_redis(servers, direct: false)
{
    /// <summary>One piece per chunk.</summary>
    protected override void AssertPieces(int[] chunkLengths, IReadOnlyList<byte[]> pieces) => Assert.Equal(chunkLengths, pieces.Select(p => p.Length));
}
