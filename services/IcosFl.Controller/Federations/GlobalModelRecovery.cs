using IcosFl.Contracts;
using IcosFl.Controller.Checkpoints;
using IcosFl.Controller.Sagas;
using IcosFl.Controller.Strategies;
using IcosFl.Infrastructure.Weights;
using IcosFl.Learning;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace IcosFl.Controller.Federations;

/// <summary>
/// Makes sure a round's global model (and the strategy's server state) can still be fetched before they go out.
/// The payload Redis keeps nothing on disk, so a restart of it (or a pause longer than the time to live) loses a
/// claim-checked payload while the federation saga still holds its key; every retry would send the same dead key.
/// A lost payload is packed again from the freshest durable copy of that same model: the federation's checkpoint of
/// the previous round, the checkpoint it resumed from, or for round 1 the strategy's initial weights, which depend on
/// the run config alone and so can be drawn again.
/// </summary>
public sealed class GlobalModelRecovery(
    IClaimCheckStore store,
    WeightTransport transport,
    WeightTransportOptions transportOptions,
    ICheckpointStore checkpoints,
    IStrategyProvider strategies,
    ILogger<GlobalModelRecovery> logger)
{
    /// <summary>
    /// One existence check per claim-checked payload; only when one is gone, its model is regained and the saga given
    /// the new reference. Throws <see cref="GlobalModelLostException"/> when no durable copy of the round's model is left.
    /// </summary>
    public async Task EnsureFetchableAsync(FederationState saga, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(saga);
        WeightsPayload? lostGlobal, lostState;
        try
        {
            lostGlobal = await LostAsync(saga.GlobalWeights, cancellationToken);
            lostState = await LostAsync(saga.ServerState, cancellationToken);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // The check must not make the payload Redis a new reason for a round not to open: an unreachable store is
            // what it was before the check, a round whose workers cannot fetch the model, failed and retried.
            logger.LogWarning(e,
                "Federation {FederationId} round {Round}: could not check that the global model is still in the claim-check store ({Reason}); the round opens with it as it is",
                saga.CorrelationId, saga.Round, e.Message);
            return;
        }
        if (lostGlobal is null && lostState is null)
            return;

        var tried = new List<string>();
        var copy = await FindDurableCopyAsync(saga, tried, cancellationToken);
        if (copy is null)
            throw Unrecoverable(saga, lostGlobal is not null ? "global model" : "server state", (lostGlobal ?? lostState)!, tried);
        if (lostState is not null && copy.ServerState is null)
            throw Unrecoverable(saga, "server state", lostState, [$"{copy.Source} holds no server state"]);

        var previous = saga.Round - 1;
        if (lostGlobal is not null)
            saga.GlobalWeights = await RepackAsync(saga, "global model", lostGlobal, copy.Weights, copy.Source,
                $"{saga.CorrelationId:N}:global:{previous}", cancellationToken);
        if (lostState is not null)
            saga.ServerState = await RepackAsync(saga, "server state", lostState, copy.ServerState!, copy.Source,
                $"{saga.CorrelationId:N}:server-state:{previous}", cancellationToken);
    }

    private async Task<WeightsPayload?> LostAsync(WeightsPayload? payload, CancellationToken cancellationToken) =>
        payload is { ClaimCheckKey: { } key } && !await store.ContainsAsync(key, cancellationToken) ? payload : null;

    private async Task<WeightsPayload> RepackAsync(FederationState saga, string what, WeightsPayload lost, ModelWeights weights, string source,
        string keyHint, CancellationToken cancellationToken)
    {
        var regained = await transport.PackAsync(weights, keyHint, cancellationToken);
        // Equal checksums: the very bytes that were lost. Different ones (another attempt of that round overwrote the
        // checkpoint) are still that round's model, so the federation goes on with it, and the log says so.
        var match = regained.Checksum == lost.Checksum && regained.Length == lost.Length ? "byte for byte" : "which differs from the lost one";
        logger.LogWarning(
            "Federation {FederationId} round {Round}: the {Payload} at claim-check key {LostKey} is missing or expired (payload Redis restarted, or its time-to-live {TimeToLive} passed); regained from {RegainedFrom} as {NewKey}, {Match} (checksum {Checksum}, lost {LostChecksum})",
            saga.CorrelationId, saga.Round, what, lost.ClaimCheckKey, transportOptions.ClaimCheckTimeToLive, source, regained.ClaimCheckKey ?? "inline",
            match, regained.Checksum, lost.Checksum);
        return regained;
    }

    /// <summary>The model the round starts from, from the first durable place that holds it; what was tried goes to <paramref name="tried"/>.</summary>
    private async Task<DurableCopy?> FindDurableCopyAsync(FederationState saga, List<string> tried, CancellationToken cancellationToken)
    {
        var previous = saga.Round - 1;
        if (previous == 0 && saga.ResumedFrom is null)
            return new DurableCopy($"the initial weights drawn again from the run config (seed {saga.RunConfig.Seed})",
                InitializeFederationActivity.InitialModel(strategies, saga.RunConfig), null);

        // A resumed federation's first round starts from the checkpoint it resumed; later rounds from its own.
        Guid[] federations = saga.ResumedFrom is { } resumed ? [saga.CorrelationId, resumed] : [saga.CorrelationId];
        foreach (var federation in federations)
        {
            // Latest is the freshest; Best still holds the previous round when a failed attempt of this round overwrote Latest.
            foreach (var kind in new[] { CheckpointKind.Latest, CheckpointKind.Best })
            {
                var name = $"the {kind.ToString().ToLowerInvariant()} checkpoint of federation {federation} in {checkpoints.Describe(federation)}";
                Checkpoint? checkpoint;
                try
                {
                    checkpoint = await checkpoints.LoadAsync(federation, kind, cancellationToken);
                }
                catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
                {
                    tried.Add($"{name} is unreadable: {e.Message}");
                    continue;
                }

                if (checkpoint is null)
                {
                    tried.Add($"{name} does not exist");
                    continue;
                }
                if (checkpoint.Round != previous)
                {
                    tried.Add($"{name} is of round {checkpoint.Round}, not {previous}");
                    continue;
                }
                try
                {
                    LstmLayout.EnsureCompatible(checkpoint.Weights, saga.RunConfig);
                }
                catch (IncompatibleWeightsException e)
                {
                    tried.Add($"{name} does not fit the federation's model: {e.Message}");
                    continue;
                }

                return new DurableCopy($"{name} (round {checkpoint.Round}, attempt {checkpoint.Attempt})", checkpoint.Weights, checkpoint.ServerState);
            }
        }

        return null;
    }

    private GlobalModelLostException Unrecoverable(FederationState saga, string what, WeightsPayload lost, IReadOnlyList<string> tried) =>
        new($"round {saga.Round}: the {what} at claim-check key '{lost.ClaimCheckKey}' is missing or expired (payload Redis restarted, " +
            $"or its time-to-live {transportOptions.ClaimCheckTimeToLive} passed) and no durable copy can regain it: {string.Join("; ", tried)}");

    private sealed record DurableCopy(string Source, ModelWeights Weights, ModelWeights? ServerState);
}

/// <summary>A federation's global model (or server state) is gone from the claim-check store and no checkpoint or seed can give it back.</summary>
public sealed class GlobalModelLostException(string message) : Exception(message);
