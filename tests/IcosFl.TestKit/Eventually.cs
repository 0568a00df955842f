using System.Diagnostics;

namespace IcosFl.TestKit;

/// <summary>
/// Waiting for something that happens on another thread, process or server: the probe is looked at every
/// <c>interval</c> (50 ms unless told) until it answers as wanted or the timeout passes. The one way the tests
/// poll; a wait that can be woken by the event itself (a message recorder, a harness) needs no polling.
/// </summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// The probe's first value that <paramref name="done"/> accepts. Throws a <see cref="TimeoutException"/> naming
    /// <paramref name="what"/> and the last value (through <paramref name="describe"/>) once <paramref name="timeout"/>
    /// has passed, or at once when <paramref name="hopeless"/> says the value can never become acceptable.
    /// </summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what,
        TimeSpan? interval = null, Func<T, bool>? hopeless = null, Func<T?, string>? describe = null)
    {
        var watch = Stopwatch.StartNew();
        T? last = default;
        var probed = false;
        while (!probed || watch.Elapsed < timeout)
        {
            last = await probe();
            probed = true;
            if (done(last))
                return last;
            if (hopeless?.Invoke(last) == true)
                break;
            await Task.Delay(interval ?? DefaultInterval);
        }
        var seen = describe is not null ? describe(last) : last?.ToString() ?? "nothing";
        throw new TimeoutException($"{what} not reached within {timeout.TotalSeconds:0.#} s; last seen: {seen}");
    }

    /// <inheritdoc cref="UntilAsync{T}(Func{Task{T}}, Func{T, bool}, TimeSpan, string, TimeSpan?, Func{T, bool}?, Func{T, string}?)"/>
    public static Task<T> UntilAsync<T>(Func<T> probe, Func<T, bool> done, TimeSpan timeout, string what,
        TimeSpan? interval = null, Func<T, bool>? hopeless = null, Func<T?, string>? describe = null) =>
        UntilAsync(() => Task.FromResult(probe()), done, timeout, what, interval, hopeless, describe);

    /// <summary>Waits until <paramref name="condition"/> holds; throws a <see cref="TimeoutException"/> naming <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static Task HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, TimeSpan? interval = null) =>
        UntilAsync(condition, held => held, timeout, what, interval, describe: _ => "false");

    /// <inheritdoc cref="HoldsAsync(Func{Task{bool}}, TimeSpan, string, TimeSpan?)"/>
    public static Task HoldsAsync(Func<bool> condition, TimeSpan timeout, string what, TimeSpan? interval = null) =>
        HoldsAsync(() => Task.FromResult(condition()), timeout, what, interval);

    /// <summary>
    /// Waits until <paramref name="condition"/> holds or <paramref name="timeout"/> passes, and says which: for a test
    /// whose own assertions after the wait say best what was missing.
    /// </summary>
    public static async Task<bool> WithinAsync(Func<Task<bool>> condition, TimeSpan timeout, TimeSpan? interval = null)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            if (await condition())
                return true;
            if (watch.Elapsed >= timeout)
                return false;
            await Task.Delay(interval ?? DefaultInterval);
        }
    }

    /// <inheritdoc cref="WithinAsync(Func{Task{bool}}, TimeSpan, TimeSpan?)"/>
    public static Task<bool> WithinAsync(Func<bool> condition, TimeSpan timeout, TimeSpan? interval = null) =>
        WithinAsync(() => Task.FromResult(condition()), timeout, interval);
}
