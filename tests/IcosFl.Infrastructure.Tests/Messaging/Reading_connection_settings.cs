using IcosFl.Infrastructure.Messaging;

namespace IcosFl.Infrastructure.Tests.Messaging;

/// <summary>
/// Where a node finds its servers: ICOSFL_* variables, overridden by flags. The payload Redis defaults to the
/// saga Redis (same string, so one connection) and is a Redis of its own only when named.
/// These tests set process environment variables, which only this class reads in this assembly.
/// </summary>
public sealed class Reading_connection_settings : IDisposable
{
    private static readonly string[] Variables = ["ICOSFL_BROKER", "ICOSFL_REDIS", "ICOSFL_PAYLOAD_REDIS", "ICOSFL_SEQ_URL"];
    private readonly Dictionary<string, string?> _saved = Variables.ToDictionary(v => v, Environment.GetEnvironmentVariable);

    public Reading_connection_settings()
    {
        foreach (var name in Variables)
            Environment.SetEnvironmentVariable(name, null);
    }

    public void Dispose()
    {
        foreach (var (name, value) in _saved)
            Environment.SetEnvironmentVariable(name, value);
    }

    [Fact]
    public void Should_use_the_saga_redis_for_payloads_when_nothing_names_a_payload_redis()
    {
        var defaults = ConnectionSettings.FromEnvironment();
        Assert.Equal("localhost:6379", defaults.Redis);
        Assert.Equal("localhost:6379", defaults.PayloadRedis);
        Assert.False(defaults.PayloadRedisIsSeparate);

        Environment.SetEnvironmentVariable("ICOSFL_REDIS", "redis:6379,password=s");
        var fromEnvironment = ConnectionSettings.FromEnvironment();
        Assert.Equal("redis:6379,password=s", fromEnvironment.PayloadRedis);
        Assert.False(fromEnvironment.PayloadRedisIsSeparate);

        var fromFlag = ConnectionSettings.FromEnvironment(redis: "other:6379");
        Assert.Equal("other:6379", fromFlag.PayloadRedis);

        // Built in code, as hostings and tests do: the payload Redis follows Redis too.
        var built = new ConnectionSettings { Redis = "built:6379" };
        Assert.Equal("built:6379", built.PayloadRedis);
        Assert.False(built.PayloadRedisIsSeparate);
        Assert.Equal("moved:6379", (built with { Redis = "moved:6379" }).PayloadRedis);
    }

    [Fact]
    public void Should_read_the_payload_redis_from_the_environment_and_let_the_flag_win()
    {
        Environment.SetEnvironmentVariable("ICOSFL_REDIS", "redis:6379");
        Environment.SetEnvironmentVariable("ICOSFL_PAYLOAD_REDIS", "payload-redis:6379,password=p");

        var fromEnvironment = ConnectionSettings.FromEnvironment();
        Assert.Equal("redis:6379", fromEnvironment.Redis);
        Assert.Equal("payload-redis:6379,password=p", fromEnvironment.PayloadRedis);
        Assert.True(fromEnvironment.PayloadRedisIsSeparate);

        var fromFlag = ConnectionSettings.FromEnvironment(payloadRedis: "flag:6380");
        Assert.Equal("flag:6380", fromFlag.PayloadRedis);
        Assert.Equal("redis:6379", fromFlag.Redis);
    }

    [Fact]
    public void Should_count_a_payload_redis_named_with_the_saga_redis_string_as_the_same_redis()
    {
        Environment.SetEnvironmentVariable("ICOSFL_REDIS", "redis:6379");
        Environment.SetEnvironmentVariable("ICOSFL_PAYLOAD_REDIS", "redis:6379");
        Assert.False(ConnectionSettings.FromEnvironment().PayloadRedisIsSeparate);

        // An empty variable is unset, as for the other settings.
        Environment.SetEnvironmentVariable("ICOSFL_PAYLOAD_REDIS", "");
        Assert.Equal("redis:6379", ConnectionSettings.FromEnvironment().PayloadRedis);
    }

    [Fact]
    public void Should_hide_redis_passwords_in_what_it_displays()
    {
        var settings = new ConnectionSettings
        {
            Redis = "redis:6379,password=saga-secret,abortConnect=false",
            PayloadRedis = "payload-redis:6379, password=payload-secret",
        };
        Assert.Equal("redis:6379,password=***,abortConnect=false", settings.RedisForDisplay);
        Assert.Equal("payload-redis:6379,password=***", settings.PayloadRedisForDisplay);
    }
}
