using IcosFl.Contracts;
using IcosFl.Infrastructure.Weights;
using static IcosFl.Infrastructure.Tests.Weights.WeightSamples;

namespace IcosFl.Infrastructure.Tests.Weights;

public class Moving_weights_in_messages
{
    private static readonly DateTimeOffset Start = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider clock = new(Start);
    private readonly InMemoryClaimCheckStore store;
    private readonly ModelWeights model = Lstm(hidden: 8);
    private readonly byte[] encoded;

    public Moving_weights_in_messages()
    {
        store = new InMemoryClaimCheckStore(clock);
        encoded = WeightCodec.Encode(model);
    }

    private WeightTransport Transport(long threshold, TimeSpan? timeToLive = null) => new(store, new WeightTransportOptions
    {
        InlineThresholdBytes = threshold,
        ClaimCheckTimeToLive = timeToLive ?? TimeSpan.FromHours(24),
    });

    [Fact]
    public async Task Should_send_weights_inline_up_to_the_threshold()
    {
        var transport = Transport(threshold: encoded.Length);

        var payload = await transport.PackAsync(model, "fed-1:round-3");

        Assert.Equal(encoded, payload.Inline);
        Assert.Null(payload.ClaimCheckKey);
        Assert.Equal(encoded.Length, payload.Length);
        Assert.Equal(WeightTransport.Checksum(encoded), payload.Checksum);
        Assert.Equal(0, store.Count);
        AssertSameWeights(model, await transport.UnpackAsync(payload));
    }

    [Fact]
    public async Task Should_send_weights_by_claim_check_above_the_threshold()
    {
        var transport = Transport(threshold: encoded.Length - 1);

        var payload = await transport.PackAsync(model, "fed-1:round-3");
        var again = await transport.PackAsync(model, "fed-1:round-3");

        var checksum = WeightTransport.Checksum(encoded);
        Assert.Null(payload.Inline);
        Assert.Matches("^icosfl:weights:fed-1:round-3:[0-9a-f]{32}$", payload.ClaimCheckKey);
        Assert.NotEqual(payload.ClaimCheckKey, again.ClaimCheckKey); // a retried pack never overwrites what a reader may be fetching
        Assert.Equal(encoded.Length, payload.Length);
        Assert.Equal(checksum, payload.Checksum);
        Assert.Equal(encoded, await store.GetAsync(payload.ClaimCheckKey!));
        AssertSameWeights(model, await transport.UnpackAsync(payload));
    }

    [Fact]
    public async Task Should_leave_nothing_stored_when_packing_refuses_a_nan()
    {
        var transport = Transport(threshold: 0);
        var data = Enumerable.Range(0, 100_000).Select(i => i * 1e-3f).ToArray();
        data[90_000] = float.NaN; // after several 64 KiB chunks were final and handed to the store

        var error = await Assert.ThrowsAsync<WeightPayloadException>(() =>
            transport.PackAsync(new ModelWeights([new NamedTensor("w", [data.Length], data)]), "nan"));

        Assert.Contains("element 90000 is NaN", error.Message);
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public async Task Should_use_the_default_one_mebibyte_threshold()
    {
        var transport = new WeightTransport(store, new WeightTransportOptions());
        var small = new ModelWeights([new NamedTensor("w", [262_000], new float[262_000])]);
        var large = new ModelWeights([new NamedTensor("w", [262_200], new float[262_200])]);

        Assert.NotNull((await transport.PackAsync(small, "f")).Inline);
        Assert.NotNull((await transport.PackAsync(large, "f")).ClaimCheckKey);
    }

    [Fact]
    public async Task Should_say_which_claim_check_is_missing()
    {
        var transport = Transport(threshold: 0);
        var payload = new WeightsPayload { ClaimCheckKey = "icosfl:weights:gone:0123456789abcdef", Length = 10, Checksum = "0123456789abcdef" };

        var error = await Assert.ThrowsAsync<WeightPayloadException>(() => transport.UnpackAsync(payload));

        Assert.StartsWith("claim-check key 'icosfl:weights:gone:0123456789abcdef' is missing or expired", error.Message);
    }

    [Fact]
    public async Task Should_keep_a_claim_check_for_its_time_to_live_and_no_longer()
    {
        var transport = Transport(threshold: 0, timeToLive: TimeSpan.FromMinutes(10));
        var payload = await transport.PackAsync(model, "fed-1:round-1");

        clock.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromTicks(1));
        AssertSameWeights(model, await transport.UnpackAsync(payload));

        clock.Advance(TimeSpan.FromTicks(1));
        var error = await Assert.ThrowsAsync<WeightPayloadException>(() => transport.UnpackAsync(payload));
        Assert.StartsWith($"claim-check key '{payload.ClaimCheckKey}' is missing or expired", error.Message);
    }

    [Fact]
    public async Task Should_reject_inline_weights_whose_checksum_does_not_match()
    {
        var transport = Transport(threshold: long.MaxValue);
        var payload = await transport.PackAsync(model, "f");
        var tampered = payload.Inline!.ToArray();
        tampered[^1] ^= 0x01; // still decodable: only the last float changes

        var error = await Assert.ThrowsAsync<WeightPayloadException>(() => transport.UnpackAsync(payload with { Inline = tampered }));

        Assert.Equal(
            $"inline weights: checksum mismatch: declared {payload.Checksum}, computed {WeightTransport.Checksum(tampered)} (SHA-256); the weights were altered or corrupted",
            error.Message);
    }

    [Fact]
    public async Task Should_reject_claim_checked_weights_whose_checksum_does_not_match()
    {
        var transport = Transport(threshold: 0);
        var payload = await transport.PackAsync(model, "f");
        var tampered = encoded.ToArray();
        tampered[^2] ^= 0x10;
        await store.PutAsync(payload.ClaimCheckKey!, tampered, TimeSpan.FromHours(1));

        var error = await Assert.ThrowsAsync<WeightPayloadException>(() => transport.UnpackAsync(payload));

        Assert.StartsWith($"claim-check key '{payload.ClaimCheckKey}': checksum mismatch: declared {payload.Checksum}", error.Message);
    }

    [Fact]
    public async Task Should_reject_weights_of_the_wrong_length()
    {
        var transport = Transport(threshold: long.MaxValue);
        var payload = await transport.PackAsync(model, "f");

        var error = await Assert.ThrowsAsync<WeightPayloadException>(() => transport.UnpackAsync(payload with { Length = payload.Length + 1 }));

        Assert.Equal($"inline weights: length mismatch: declared {payload.Length + 1} bytes, got {payload.Length}", error.Message);
    }

    [Fact]
    public async Task Should_reject_a_payload_with_both_or_neither_location()
    {
        var transport = Transport(threshold: long.MaxValue);
        var payload = await transport.PackAsync(model, "f");

        var both = await Assert.ThrowsAsync<WeightPayloadException>(() => transport.UnpackAsync(payload with { ClaimCheckKey = "k" }));
        var neither = await Assert.ThrowsAsync<WeightPayloadException>(() => transport.UnpackAsync(payload with { Inline = null }));

        Assert.Contains("both inline bytes and claim-check key 'k'", both.Message);
        Assert.Equal("weights payload has neither inline bytes nor a claim-check key", neither.Message);
    }

    [Fact]
    public async Task Should_pass_decoding_errors_through_after_the_checksum_holds()
    {
        var transport = Transport(threshold: long.MaxValue);
        byte[] bogus = [0x92, 0x02, 0x90];
        var payload = new WeightsPayload { Inline = bogus, Length = 3, Checksum = WeightTransport.Checksum(bogus) };

        var error = await Assert.ThrowsAsync<WeightPayloadException>(() => transport.UnpackAsync(payload));

        Assert.Equal("wrong weights format version 2: this build reads version 1", error.Message);
    }

    [Fact]
    public void Should_digest_with_sha256_as_sixty_four_lowercase_hex_digits()
    {
        // FIPS 180-2's test vectors.
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", WeightTransport.Checksum([]));
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", WeightTransport.Checksum("abc"u8));
    }

    [Fact]
    public void Should_refuse_options_that_cannot_work()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new WeightTransport(store, new WeightTransportOptions { InlineThresholdBytes = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WeightTransport(store, new WeightTransportOptions { ClaimCheckTimeToLive = TimeSpan.Zero }));
    }
}
