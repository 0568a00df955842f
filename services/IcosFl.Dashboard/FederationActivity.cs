namespace IcosFl.Dashboard;

/// <summary>
/// A change counter bumped by every federation event the controller sees; live views wait on it
/// instead of polling the sagas.
/// </summary>
public sealed class FederationActivity
{
    private readonly object _gate = new();
    private long _version;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public long Version => Interlocked.Read(ref _version);

    public void Changed()
    {
        TaskCompletionSource previous;
        lock (_gate)
        {
            _version++;
            previous = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        previous.TrySetResult();
    }

    /// <summary>Returns when something changed after <paramref name="seen"/>, or after <paramref name="timeout"/> (liveness is a matter of time too).</summary>
    public async Task WaitAsync(long seen, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task changed;
        lock (_gate)
        {
            if (_version != seen)
                return;
            changed = _changed.Task;
        }
        try
        {
            await changed.WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            // Nothing happened: the caller refreshes anyway (a heartbeat may have gone stale).
        }
    }
}
