using System.Text.RegularExpressions;
using IcosFl.Contracts;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Infrastructure.Weights;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace IcosFl.Controller.Payloads;

/// <summary>
/// Workers' update chunks into <see cref="ChunkedUploads"/> (the identity filter has already checked the sender), on one
/// endpoint per chunk shard (<see cref="RabbitMqTopology.WeightChunkEndpoints"/>), each one chunk at a time in the queue's
/// order: the broker keeps one publisher's messages in order, and chunks taken side by side would not stay so (with 8 at
/// once and a partitioner per transfer, honest 200 MB uploads arrived with neighbouring chunks swapped, as deserialising
/// them in parallel let a later one reach the partition first).
/// </summary>
public sealed class WeightChunkConsumer(ChunkedUploads uploads) : IConsumer<WeightChunk>
{
    public Task Consume(ConsumeContext<WeightChunk> context) => uploads.AcceptAsync(context.Message, context.CancellationToken);
}

/// <summary>
/// Serves chunks of global models to workers (<see cref="BrokerClaimCheckStore"/> on their side): only keys of the form
/// the controller gives global models (<c>icosfl:weights:{federation}:global:{round}:{id}</c>, the id random, so only a
/// worker a round start or evaluation request named it to knows it), never a worker's update or a server state.
/// </summary>
public sealed partial class WeightChunkRequestConsumer(IClaimCheckStore store, ILogger<WeightChunkRequestConsumer> logger) : IConsumer<WeightChunkRequested>
{
    public async Task Consume(ConsumeContext<WeightChunkRequested> context)
    {
        var m = context.Message;
        StoredChunk? chunk = null;
        string? problem = null;
        if (!GlobalModelKey().IsMatch(m.Key))
            problem = $"'{m.Key}' is not the key of a global model, and workers are served global models only";
        else if ((chunk = await store.ReadChunkAsync(m.Key, m.Index, context.CancellationToken)) is { Bytes: null })
            problem = $"there is no chunk {m.Index}: the payload has {chunk.Count}";
        if (problem is not null)
            logger.LogWarning("Chunk {Index} of {Key} asked for by worker {WorkerId} refused: {Reason}", m.Index, m.Key, m.WorkerId, problem);
        await context.RespondAsync(new WeightChunkServed
        {
            Key = m.Key,
            Index = m.Index,
            Count = chunk?.Count ?? 0,
            Length = chunk?.Length ?? 0,
            Bytes = problem is null ? chunk?.Bytes : null,
            Missing = problem is null && chunk is null,
            Problem = problem,
        });
    }

    [GeneratedRegex("^icosfl:weights:[0-9a-f]{32}:global:[0-9]+:[0-9a-f]{32}$", RegexOptions.CultureInvariant)]
    private static partial Regex GlobalModelKey();
}

public sealed class WeightChunkRequestConsumerDefinition : ConsumerDefinition<WeightChunkRequestConsumer>
{
    public WeightChunkRequestConsumerDefinition()
    {
        // Every selected worker fetches the round's model at once, a few chunks ahead each.
        Endpoint(e =>
        {
            e.PrefetchCount = 32;
            e.ConcurrentMessageLimit = 16;
        });
    }
}
