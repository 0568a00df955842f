using System.Net;
using System.Net.Sockets;
using IcosFl.Infrastructure.Redis;
using IcosFl.Infrastructure.Weights;
using IcosFl.Integration.Tests.Servers;
using IcosFl.TestKit;
using StackExchange.Redis;

namespace IcosFl.Integration.Tests.LargeModels;

/// <summary>
/// The claim-check store's own chunk connections against the real Redis: credentials and client name taken from the
/// multiplexer's configuration, connections reused only while they are sound, and every failure a clear error of the
/// kind the multiplexer would have thrown.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class Moving_chunks_on_direct_connections(TestServers servers) : IAsyncLifetime
{
    private const int Chunk = 64 * 1024;
    private readonly string _name = $"icosfl-test-{Guid.NewGuid():N}";
    private readonly string _key = $"icosfl:test:direct:{Guid.NewGuid():N}";
    private IConnectionMultiplexer _redis = null!;

    private IServer Server => _redis.GetServer(_redis.GetEndPoints()[0]);

    public async Task InitializeAsync() => _redis = await ConnectionMultiplexer.ConnectAsync($"{servers.RedisConfiguration},name={_name},allowAdmin=true");

    public async Task DisposeAsync()
    {
        using (var store = new RedisClaimCheckStore(_redis, Chunk))
            await store.DeleteAsync(_key);
        _redis.Dispose();
    }

    /// <summary>This test's chunk connections, by the client name they give themselves.</summary>
    private async Task<ClientInfo[]> ChunkConnectionsAsync() =>
        (await Server.ClientListAsync()).Where(c => c.Name == $"{_name}-payloads").ToArray();

    [Fact]
    public async Task One_connection_serves_payload_after_payload()
    {
        using var store = new RedisClaimCheckStore(_redis, Chunk);
        Assert.True(store.UsesDirectConnections);
        var payload = Storing_payloads_in_redis.Bytes(5 * Chunk + 3);

        for (var i = 0; i < 4; i++)
        {
            await store.PutAsync(_key, payload, TimeSpan.FromMinutes(5));
            Assert.Equal(payload, await store.GetAsync(_key));
        }

        Assert.Single(await ChunkConnectionsAsync());
        store.Dispose();
        await WaitUntilAsync(async () => (await ChunkConnectionsAsync()).Length == 0, "the store's idle connection to close on Dispose");
    }

    [Fact]
    public async Task A_connection_the_server_closed_while_idle_is_not_used_again()
    {
        using var store = new RedisClaimCheckStore(_redis, Chunk);
        var payload = Storing_payloads_in_redis.Bytes(3 * Chunk);
        await store.PutAsync(_key, payload, TimeSpan.FromMinutes(5));
        var idle = Assert.Single(await ChunkConnectionsAsync());

        // As a Redis restart does to every connection.
        await Server.ClientKillAsync(idle.Id);

        Assert.Equal(payload, await store.GetAsync(_key));
        Assert.NotEqual(idle.Id, Assert.Single(await ChunkConnectionsAsync()).Id);
    }

    [Fact]
    public async Task A_connection_lost_half_way_through_a_read_is_a_connection_error_and_the_next_read_works()
    {
        using var store = new RedisClaimCheckStore(_redis, Chunk);
        var payload = Storing_payloads_in_redis.Bytes(200 * Chunk + 5); // far more chunks than are requested ahead
        await store.PutAsync(_key, payload, TimeSpan.FromMinutes(5));
        var killed = false;

        var error = await Assert.ThrowsAsync<RedisConnectionException>(() => store.StreamAsync(_key, _ =>
        {
            if (killed)
                return;
            killed = true;
            foreach (var connection in ChunkConnectionsAsync().GetAwaiter().GetResult())
                Server.ClientKill(connection.Id);
        }));

        Assert.Matches("^payload Redis [^ ]+: (connection lost while (reading GET|writing)|the server closed the connection while GET)", error.Message);
        Assert.Equal(payload, await store.GetAsync(_key));
    }

    [Fact]
    public async Task The_multiplexers_user_and_password_are_used_and_a_refused_write_fails_the_pack_with_the_servers_words()
    {
        // A Redis user that may read but not write: the pack is refused by the server, and says so.
        await AsUserAsync("reader", [">secret-1", "~*", "&*", "+@all", "-set"], async user =>
        {
            using var reader = await ConnectionMultiplexer.ConnectAsync($"{servers.RedisConfiguration},user={user},password=secret-1");
            using var store = new RedisClaimCheckStore(reader, Chunk);
            var transport = new WeightTransport(store, new WeightTransportOptions { InlineThresholdBytes = 0 });

            // 8 MB in 64 KiB chunks: the encoder goes on appending long after the first SET is refused, and every one of
            // those writes must fail rather than wait for a reply that will never be read.
            var pack = transport.PackAsync(Storing_payloads_in_redis.Model(2_000_000), "test:refused");
            Assert.Same(pack, await Task.WhenAny(pack, Task.Delay(TimeSpan.FromSeconds(30))));
            var error = await Assert.ThrowsAsync<RedisServerException>(() => pack);

            Assert.Matches("^payload Redis [^ ]+: SET of claim-check key 'icosfl:weights:test:refused:[0-9a-f]{32}': NOPERM .*'set'", error.Message);

            using var wrong = await ConnectionMultiplexer.ConnectAsync($"{servers.RedisConfiguration},user={user},password=wrong,abortConnect=false,connectTimeout=1000");
            using var unauthenticated = new RedisClaimCheckStore(wrong, Chunk);
            var denied = await Assert.ThrowsAsync<RedisConnectionException>(() => unauthenticated.GetAsync(_key));
            Assert.Equal(ConnectionFailureType.AuthenticationFailure, denied.FailureType);
            Assert.Contains("WRONGPASS", denied.Message);
        });
    }

    [Fact]
    public async Task A_user_who_may_not_name_its_connection_still_moves_chunks()
    {
        await AsUserAsync("unnamed", [">secret-2", "~*", "&*", "+@all", "-client|setname"], async user =>
        {
            using var redis = await ConnectionMultiplexer.ConnectAsync($"{servers.RedisConfiguration},user={user},password=secret-2");
            using var store = new RedisClaimCheckStore(redis, Chunk);
            var payload = Storing_payloads_in_redis.Bytes(3 * Chunk + 9);

            await store.PutAsync(_key, payload, TimeSpan.FromMinutes(5));

            Assert.True(store.UsesDirectConnections);
            Assert.Equal(payload, await store.GetAsync(_key));
        });
    }

    [Fact]
    public async Task A_refused_put_closes_its_connection_and_leaves_no_chunk_that_landed_after_the_refused_one()
    {
        // May run everything but SET, and SET only on keys ending in :1 to :9: chunk 0 is refused, chunks 1 to 8 (sent
        // before that answer came back) are stored, the header never.
        await AsUserAsync("partial", [">secret-3", "~*", "&*", "+@all", "-set", "(+set ~*:[1-9])"], async user =>
        {
            using var redis = await ConnectionMultiplexer.ConnectAsync($"{servers.RedisConfiguration},user={user},password=secret-3,name={_name}");
            using var store = new RedisClaimCheckStore(redis, Chunk);

            var error = await Assert.ThrowsAsync<RedisServerException>(() => store.PutAsync(_key, Storing_payloads_in_redis.Bytes(9 * Chunk), TimeSpan.FromMinutes(5)));

            Assert.StartsWith($"payload Redis ", error.Message);
            Assert.Contains($"SET of claim-check key '{_key}': NOPERM", error.Message);
            Assert.Empty(Server.Keys(pattern: $"{_key}:*"));
            await WaitUntilAsync(async () => (await ChunkConnectionsAsync()).Length == 0, "the failed upload's connection to close");
        });
    }

    [Fact]
    public async Task A_redis_that_cannot_be_reached_is_a_connection_error_naming_it()
    {
        using var unreachable = await ConnectionMultiplexer.ConnectAsync("127.0.0.1:1,abortConnect=false,connectTimeout=500");
        using var store = new RedisClaimCheckStore(unreachable, Chunk);
        var transport = new WeightTransport(store, new WeightTransportOptions { InlineThresholdBytes = 0 });

        var error = await Assert.ThrowsAsync<RedisConnectionException>(() => transport.PackAsync(Storing_payloads_in_redis.Model(100_000), "test:unreachable"));

        Assert.Equal(ConnectionFailureType.UnableToConnect, error.FailureType);
        Assert.StartsWith("payload Redis 127.0.0.1:1: cannot connect for claim-check chunks (", error.Message);
    }

    [Fact]
    public async Task A_server_that_stops_answering_fails_the_read_after_the_multiplexers_timeout()
    {
        // Accepts connections and never answers: a hung Redis.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new List<Socket>();
        _ = Task.Run(async () =>
        {
            while (true)
                accepted.Add(await silent.AcceptSocketAsync());
        });
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        using var hung = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},abortConnect=false,connectTimeout=300,asyncTimeout=700");
        using var store = new RedisClaimCheckStore(hung, Chunk);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<RedisTimeoutException>(() => store.GetAsync(_key));

        Assert.Equal($"payload Redis 127.0.0.1:{port}: no reply to CLIENT SETNAME within 700 ms", error.Message);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(600), TimeSpan.FromSeconds(10));
        silent.Stop();
        foreach (var socket in accepted)
            socket.Dispose();
    }

    [Fact]
    public void A_configuration_the_direct_connections_do_not_speak_keeps_chunks_on_the_multiplexer()
    {
        using var tls = ConnectionMultiplexer.Connect("127.0.0.1:1,ssl=true,abortConnect=false,connectTimeout=100");
        using var several = ConnectionMultiplexer.Connect("127.0.0.1:1,127.0.0.1:2,abortConnect=false,connectTimeout=100");

        Assert.False(new RedisClaimCheckStore(tls).UsesDirectConnections);
        Assert.False(new RedisClaimCheckStore(several).UsesDirectConnections);
        Assert.True(new RedisClaimCheckStore(_redis).UsesDirectConnections);
    }

    /// <summary>Runs <paramref name="test"/> as a Redis user made for it (ACL rules as given), removed afterwards.</summary>
    private async Task AsUserAsync(string suffix, object[] rules, Func<string, Task> test)
    {
        var user = $"{_name}-{suffix}";
        await Server.ExecuteAsync("ACL", ["SETUSER", user, "on", .. rules]);
        try
        {
            await test(user);
        }
        finally
        {
            await Server.ExecuteAsync("ACL", "DELUSER", user);
        }
    }

    private static Task WaitUntilAsync(Func<Task<bool>> condition, string what) =>
        Eventually.HoldsAsync(condition, TimeSpan.FromSeconds(10), what);
}
