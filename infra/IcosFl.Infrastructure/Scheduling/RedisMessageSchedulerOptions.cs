namespace IcosFl.Infrastructure.Scheduling;

/// <summary>Settings of the Redis-backed message scheduler (saga timeouts without broker plugins).</summary>
public sealed class RedisMessageSchedulerOptions
{
    /// <summary>Queue receiving ScheduleMessage / CancelScheduledMessage commands (<c>queue:{QueueName}</c>).</summary>
    public string QueueName { get; set; } = "icosfl-scheduler";

    /// <summary>Prefix of the scheduler's Redis keys.</summary>
    public string KeyPrefix { get; set; } = "icosfl:";

    /// <summary>Redis database number; -1 is the connection's default database.</summary>
    public int Database { get; set; } = -1;

    /// <summary>How often due messages are looked for: a message arrives up to this late.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The longest the dispatcher sleeps while nothing is due: after an empty poll it sleeps until the earliest waiting
    /// message is due, at least <see cref="PollInterval"/> and at most this, and a message this process schedules wakes it
    /// at once. Only a message that another process (another controller) stored, and that process then fails to send,
    /// can arrive up to this late. An idle controller polls Redis every 5 s instead of every 500 ms (docs/benchmarks.md,
    /// footprint).
    /// </summary>
    public TimeSpan IdlePollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a claimed message is reserved for the controller that claimed it. If that controller
    /// dies before sending it, another one sends it after this time.
    /// </summary>
    public TimeSpan ClaimTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Most messages claimed in one poll.</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>Attempts to send one due message before it is dropped (with an error in the log).</summary>
    public int MaxSendAttempts { get; set; } = 10;

    /// <summary>The environment variable a deployed controller reads <see cref="IdlePollInterval"/> from (seconds).</summary>
    public const string IdlePollVariable = "ICOSFL_SCHEDULER_IDLE_POLL";

    /// <summary><see cref="IdlePollInterval"/> from ICOSFL_SCHEDULER_IDLE_POLL (seconds, e.g. 0.5 or 5), or the default when unset.</summary>
    public static TimeSpan IdlePollFromEnvironment()
    {
        var text = Environment.GetEnvironmentVariable(IdlePollVariable);
        if (string.IsNullOrWhiteSpace(text))
            return new RedisMessageSchedulerOptions().IdlePollInterval;
        if (!double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            || !(seconds >= 0.5) || seconds > 3600)
            throw new ArgumentException($"{IdlePollVariable} must be a number of seconds from 0.5 (the poll interval) to 3600, got '{text}'");
        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>Throws with a message naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(QueueName))
            throw new ArgumentException("RedisMessageSchedulerOptions.QueueName must not be empty (e.g. \"icosfl-scheduler\").");
        if (string.IsNullOrWhiteSpace(KeyPrefix))
            throw new ArgumentException("RedisMessageSchedulerOptions.KeyPrefix must not be empty (e.g. \"icosfl:\").");
        if (Database < -1)
            throw new ArgumentException($"RedisMessageSchedulerOptions.Database must be -1 (default) or a database number, was {Database}.");
        if (PollInterval <= TimeSpan.Zero)
            throw new ArgumentException($"RedisMessageSchedulerOptions.PollInterval must be positive, was {PollInterval}.");
        if (IdlePollInterval < PollInterval)
            throw new ArgumentException($"RedisMessageSchedulerOptions.IdlePollInterval ({IdlePollInterval}) must be at least PollInterval ({PollInterval}).");
        if (ClaimTimeout <= PollInterval)
            throw new ArgumentException($"RedisMessageSchedulerOptions.ClaimTimeout ({ClaimTimeout}) must be longer than PollInterval ({PollInterval}).");
        if (BatchSize < 1)
            throw new ArgumentException($"RedisMessageSchedulerOptions.BatchSize must be at least 1, was {BatchSize}.");
        if (MaxSendAttempts < 1)
            throw new ArgumentException($"RedisMessageSchedulerOptions.MaxSendAttempts must be at least 1, was {MaxSendAttempts}.");
    }

    /// <summary>The address sagas and <c>IMessageScheduler</c> send scheduling commands to.</summary>
    public Uri SchedulerAddress => new($"queue:{QueueName}");
}
