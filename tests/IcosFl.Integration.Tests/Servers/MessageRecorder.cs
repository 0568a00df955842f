using System.Collections.Concurrent;
using MassTransit;

namespace IcosFl.Integration.Tests.Servers;

/// <summary>
/// Collects messages as they are consumed and lets a test await a condition on them (woken by each
/// arrival, never by polling).
/// </summary>
public sealed class MessageRecorder<T>
    where T : class
{
    readonly ConcurrentQueue<T> _messages = new();
    readonly SemaphoreSlim _arrived = new(0);

    public IReadOnlyList<T> Messages => _messages.ToArray();

    public void Record(T message)
    {
        _messages.Enqueue(message);
        _arrived.Release();
    }

    /// <summary>Waits until <paramref name="condition"/> holds for the messages so far; fails after <paramref name="timeout"/>.</summary>
    public async Task<IReadOnlyList<T>> WaitUntilAsync(Func<IReadOnlyList<T>, bool> condition, TimeSpan timeout, string what)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            var messages = Messages;
            if (condition(messages))
                return messages;
            try
            {
                await _arrived.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Waited {timeout.TotalSeconds:0.#} s for {what}; got {Messages.Count} {typeof(T).Name} message(s).");
            }
        }
    }
}

/// <summary>Feeds consumed messages of one type into the <see cref="MessageRecorder{T}"/> in the container.</summary>
public sealed class RecordingConsumer<T> : IConsumer<T>
    where T : class
{
    readonly MessageRecorder<T> _recorder;

    public RecordingConsumer(MessageRecorder<T> recorder)
    {
        _recorder = recorder;
    }

    public Task Consume(ConsumeContext<T> context)
    {
        _recorder.Record(context.Message);
        return Task.CompletedTask;
    }
}

/// <summary>Records every delivery of a message type to any consumer or saga of a bus, even ones a saga then ignores.</summary>
public sealed class DeliveryRecorder<T> : IConsumeMessageObserver<T>
    where T : class
{
    public MessageRecorder<T> Delivered { get; } = new();

    public Task PreConsume(ConsumeContext<T> context) => Task.CompletedTask;

    public Task PostConsume(ConsumeContext<T> context)
    {
        Delivered.Record(context.Message);
        return Task.CompletedTask;
    }

    public Task ConsumeFault(ConsumeContext<T> context, Exception exception) => Task.CompletedTask;
}
