using IcosFl.Contracts;
using IcosFl.Controller.Checkpoints;
using IcosFl.Controller.Federations;
using IcosFl.Controller.Messages;
using IcosFl.Controller.Tests.Checkpoints;
using IcosFl.Controller.Sagas;
using IcosFl.Controller.Strategies;
using IcosFl.Infrastructure.Redis;
using IcosFl.Infrastructure.Weights;
using IcosFl.Learning;
using MassTransit;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace IcosFl.Controller.Tests.Sagas;

/// <summary>
/// The payload Redis keeps nothing on disk: a restart (or a pause beyond the time-to-live) loses the claim-checked
/// global model the federation saga refers to. The next round regains it from a durable copy before it opens.
/// </summary>
public sealed class Regaining_a_lost_global_model
{
    private static readonly string[] Workers = ["worker-1", "worker-2"];

    // Every payload by claim check, so that expiring the claim-check store loses the global model.
    private static readonly WeightTransportOptions ClaimChecked = new() { InlineThresholdBytes = 0, ClaimCheckTimeToLive = TimeSpan.FromHours(1) };

    private static readonly TimeSpan BeyondTimeToLive = TimeSpan.FromHours(1) + TimeSpan.FromMinutes(1);

    [Fact]
    public async Task Should_regain_the_next_rounds_global_model_from_the_checkpoint_and_complete()
    {
        await using var h = await FederationHarness.StartAsync(transport: ClaimChecked);
        await h.HeartbeatAsync(Workers);
        var id = await h.StartFederationAsync(RunConfig.Default with { NumServerRounds = 2, MinEvaluateClients = 2 });

        foreach (var s in await h.PublishedAsync<RoundStarted>(2, m => m.FederationId == id && m.Round == 1))
            await h.SubmitAsync(s, s.WorkerId, delta: 0.5f, numExamples: 10);
        // The round waits for its evaluators: the moment to lose every payload, the new global model among them.
        var evaluations = await h.PublishedAsync<EvaluationRequested>(2, m => m.FederationId == id && m.Round == 1);
        var lost = evaluations[0].GlobalWeights;
        h.ClaimCheckClock.Advance(BeyondTimeToLive);
        await ReportAsync(h, evaluations);

        var round2 = await h.PublishedAsync<RoundStarted>(2, m => m.FederationId == id && m.Round == 2);
        var checkpoint = (await h.Checkpoints.LoadAsync(id, CheckpointKind.Latest))!;
        Assert.Equal(1, checkpoint.Round);
        var sent = round2[0].GlobalWeights;
        Assert.NotNull(sent.ClaimCheckKey);
        Assert.NotEqual(lost.ClaimCheckKey, sent.ClaimCheckKey);
        // The very bytes that were lost: same checksum and length, and they unpack to the checkpointed model.
        Assert.Equal((lost.Checksum, lost.Length), (sent.Checksum, sent.Length));
        CheckpointStoreTests.AssertSameWeights(checkpoint.Weights, await h.Transport.UnpackAsync(sent));
        Assert.Equal(sent, h.Federations.Sagas.Contains(id)!.GlobalWeights);

        foreach (var s in round2)
            await h.SubmitAsync(s, s.WorkerId, delta: 0.5f, numExamples: 10);
        await ReportAsync(h, await h.PublishedAsync<EvaluationRequested>(2, m => m.FederationId == id && m.Round == 2));

        Assert.True(await h.Harness.Published.Any<FederationCompleted>(m => m.Context.Message.FederationId == id));
        var saga = h.Federations.Sagas.Contains(id)!;
        // No attempt was wasted on the lost payload.
        Assert.Equal([(1, 1, "Completed"), (2, 1, "Completed")], saga.Rounds.Select(r => (r.Round, r.Attempt, r.State)));

        var warning = Assert.Single(h.Log.Entries, e => e.Category == typeof(GlobalModelRecovery).FullName);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal(id, warning.Properties["FederationId"]);
        Assert.Equal(2, warning.Properties["Round"]);
        Assert.Equal("global model", warning.Properties["Payload"]);
        Assert.Equal(lost.ClaimCheckKey, warning.Properties["LostKey"]);
        Assert.Equal(sent.ClaimCheckKey, warning.Properties["NewKey"]);
        Assert.Equal($"the latest checkpoint of federation {id} in memory ({id}) (round 1, attempt 1)", warning.Properties["RegainedFrom"]);
        Assert.Contains("byte for byte", warning.Message);
    }

    [Fact]
    public async Task Should_draw_the_initial_weights_again_from_the_seed_when_they_expire_while_waiting_for_quorum()
    {
        await using var h = await FederationHarness.StartAsync(transport: ClaimChecked);
        var config = RunConfig.Default with { NumServerRounds = 1, MinEvaluateClients = 10, Seed = 7 };
        var id = await h.StartFederationAsync(config);
        Assert.NotNull(await h.Federations.Exists(id, m => m.WaitingForQuorum));
        var lost = h.Federations.Sagas.Contains(id)!.GlobalWeights!;

        // Nobody came for longer than the time-to-live.
        h.ClaimCheckClock.Advance(BeyondTimeToLive);
        await h.HeartbeatAsync(Workers);

        var started = await h.PublishedAsync<RoundStarted>(2, m => m.FederationId == id);
        Assert.NotEqual(lost.ClaimCheckKey, started[0].GlobalWeights.ClaimCheckKey);
        Assert.Equal(lost.Checksum, started[0].GlobalWeights.Checksum);
        CheckpointStoreTests.AssertSameWeights(LocalTraining.InitialWeights(config), await h.Transport.UnpackAsync(started[0].GlobalWeights));
        foreach (var s in started)
            await h.SubmitAsync(s, s.WorkerId, delta: 0.5f, numExamples: 10);

        Assert.True(await h.Harness.Published.Any<FederationCompleted>(m => m.Context.Message.FederationId == id));
        var warning = Assert.Single(h.Log.Entries, e => e.Category == typeof(GlobalModelRecovery).FullName);
        Assert.Equal("the initial weights drawn again from the run config (seed 7)", warning.Properties["RegainedFrom"]);
        Assert.Equal(1, warning.Properties["Round"]);
    }

    [Fact]
    public async Task Should_fail_a_round_whose_global_model_is_lost_mid_round_and_regain_it_for_the_retry()
    {
        await using var h = await FederationHarness.StartAsync(transport: ClaimChecked);
        await h.HeartbeatAsync(Workers);
        var config = RunConfig.Default with { NumServerRounds = 1, MinEvaluateClients = 10, RoundRetryDelay = 0 }; // retried at once: Waiting_for_data tests the delay
        var id = await h.StartFederationAsync(config);
        var first = await h.PublishedAsync<RoundStarted>(2, m => m.FederationId == id);
        var lost = first[0].GlobalWeights.ClaimCheckKey;

        // Lost after the workers fetched it, before the controller aggregates from it; the updates come after.
        h.ClaimCheckClock.Advance(BeyondTimeToLive);
        foreach (var s in first)
            await h.SubmitWeightsAsync(s, s.WorkerId, LocalTraining.InitialWeights(config), numExamples: 10);

        var failed = (await h.PublishedAsync<RoundFailed>(1, m => m.FederationId == id)).Single();
        Assert.StartsWith($"the round's global model or server state is unreadable: claim-check key '{lost}' is missing or expired", failed.Reason);
        var retry = await h.PublishedAsync<RoundStarted>(2, m => m.FederationId == id && m.RoundId != first[0].RoundId);
        Assert.NotEqual(lost, retry[0].GlobalWeights.ClaimCheckKey);
        CheckpointStoreTests.AssertSameWeights(LocalTraining.InitialWeights(config), await h.Transport.UnpackAsync(retry[0].GlobalWeights));
        foreach (var s in retry)
            await h.SubmitAsync(s, s.WorkerId, delta: 0.5f, numExamples: 10);

        Assert.True(await h.Harness.Published.Any<FederationCompleted>(m => m.Context.Message.FederationId == id));
        Assert.Equal([(1, "Failed"), (2, "Completed")], h.Federations.Sagas.Contains(id)!.Rounds.Select(r => (r.Attempt, r.State)));
    }

    [Fact]
    public async Task Should_regain_a_resumed_federations_first_model_from_the_checkpoint_it_resumed()
    {
        await using var h = await FederationHarness.StartAsync(transport: ClaimChecked);
        var previous = Guid.NewGuid();
        var checkpoint = CheckpointStoreTests.Sample(previous, round: 2, mse: 0.1);
        checkpoint = checkpoint with
        {
            RunConfig = checkpoint.RunConfig with { NumServerRounds = 3, MinEvaluateClients = 10, Metric = Metrics.CpuUsage },
            ServerState = LocalTraining.InitialWeights(checkpoint.RunConfig with { Seed = 9 }),
        };
        await h.Checkpoints.SaveRoundAsync(checkpoint);
        var id = NewId.NextGuid();
        await h.Harness.Bus.Publish(new StartFederation { FederationId = id, ResumeFrom = previous });
        Assert.NotNull(await h.Federations.Exists(id, m => m.WaitingForQuorum));

        h.ClaimCheckClock.Advance(BeyondTimeToLive);
        await h.HeartbeatAsync(Workers);

        var opened = (await h.PublishedAsync<RoundOpened>(1, m => m.FederationId == id)).Single();
        Assert.Equal(3, opened.Round);
        CheckpointStoreTests.AssertSameWeights(checkpoint.Weights, await h.Transport.UnpackAsync(opened.GlobalWeights));
        CheckpointStoreTests.AssertSameWeights(checkpoint.ServerState!, await h.Transport.UnpackAsync(opened.ServerState!));
        var sources = h.Log.Entries.Where(e => e.Category == typeof(GlobalModelRecovery).FullName).Select(e => e.Properties["RegainedFrom"]).ToList();
        Assert.Equal(2, sources.Count);
        Assert.All(sources, s => Assert.Equal($"the latest checkpoint of federation {previous} in memory ({previous}) (round 2, attempt 2)", s));
    }

    [Fact]
    public async Task Should_regain_a_lost_server_state_with_the_global_model()
    {
        await using var h = await FederationHarness.StartAsync(transport: ClaimChecked);
        await h.HeartbeatAsync(Workers);
        var id = await h.StartFederationAsync(RunConfig.Default with { NumServerRounds = 2, MinEvaluateClients = 2, Strategy = IcosFl.Contracts.Strategies.FedAdam });

        foreach (var s in await h.PublishedAsync<RoundStarted>(2, m => m.FederationId == id && m.Round == 1))
            await h.SubmitAsync(s, s.WorkerId, delta: 0.5f, numExamples: 10);
        var evaluations = await h.PublishedAsync<EvaluationRequested>(2, m => m.FederationId == id && m.Round == 1);
        h.ClaimCheckClock.Advance(BeyondTimeToLive);
        await ReportAsync(h, evaluations);

        var opened = (await h.PublishedAsync<RoundOpened>(1, m => m.FederationId == id && m.Round == 2)).Single();
        var checkpoint = (await h.Checkpoints.LoadAsync(id, CheckpointKind.Latest))!;
        Assert.NotNull(checkpoint.ServerState);
        CheckpointStoreTests.AssertSameWeights(checkpoint.Weights, await h.Transport.UnpackAsync(opened.GlobalWeights));
        CheckpointStoreTests.AssertSameWeights(checkpoint.ServerState, await h.Transport.UnpackAsync(opened.ServerState!));

        foreach (var s in await h.PublishedAsync<RoundStarted>(2, m => m.FederationId == id && m.Round == 2))
            await h.SubmitAsync(s, s.WorkerId, delta: 0.5f, numExamples: 10);
        await ReportAsync(h, await h.PublishedAsync<EvaluationRequested>(2, m => m.FederationId == id && m.Round == 2));
        Assert.True(await h.Harness.Published.Any<FederationCompleted>(m => m.Context.Message.FederationId == id));
        Assert.Equal(["global model", "server state"],
            h.Log.Entries.Where(e => e.Category == typeof(GlobalModelRecovery).FullName).Select(e => e.Properties["Payload"]).Order());
    }

    [Fact]
    public async Task Should_fail_the_federation_once_naming_the_lost_key_when_no_checkpoint_holds_the_model()
    {
        // The checkpoint folder cannot be created (a file stands in its way): checkpoints are logged as not saved.
        var blocked = Path.Combine(Path.GetTempPath(), $"icosfl-blocked-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(blocked, "not a folder");
        try
        {
            await using var h = await FederationHarness.StartAsync(transport: ClaimChecked, checkpoints: new FileCheckpointStore(blocked));
            await h.HeartbeatAsync(Workers);
            var id = await h.StartFederationAsync(RunConfig.Default with { NumServerRounds = 2, MinEvaluateClients = 2, RoundRetries = 3 });

            foreach (var s in await h.PublishedAsync<RoundStarted>(2, m => m.FederationId == id && m.Round == 1))
                await h.SubmitAsync(s, s.WorkerId, delta: 0.5f, numExamples: 10);
            var evaluations = await h.PublishedAsync<EvaluationRequested>(2, m => m.FederationId == id && m.Round == 1);
            var lost = evaluations[0].GlobalWeights.ClaimCheckKey;
            h.ClaimCheckClock.Advance(BeyondTimeToLive);
            await ReportAsync(h, evaluations);

            var failed = (await h.PublishedAsync<FederationFailed>(1, m => m.FederationId == id)).Single();
            Assert.StartsWith($"round 2: the global model at claim-check key '{lost}' is missing or expired (payload Redis restarted, " +
                "or its time-to-live 01:00:00 passed) and no durable copy can regain it: the latest checkpoint of federation", failed.Reason);
            Assert.Contains("does not exist", failed.Reason);
            Assert.Equal(1, failed.CompletedRounds);
            Assert.NotNull(await h.Federations.Exists(id, m => m.Failed));
            var saga = h.Federations.Sagas.Contains(id)!;
            Assert.Equal(failed.Reason, saga.Reason);
            // Failed before opening: no round 2 attempt went out with the dead key.
            Assert.Equal([(1, "Completed")], saga.Rounds.Select(r => (r.Round, r.State)));
            Assert.False(await h.Harness.Published.Any<RoundOpened>(m => m.Context.Message.FederationId == id && m.Context.Message.Round == 2));
            Assert.Single(h.Harness.Published.Select<FederationFailed>(m => m.Context.Message.FederationId == id));
        }
        finally
        {
            File.Delete(blocked);
        }
    }

    [Fact]
    public async Task Should_open_the_round_as_before_when_the_payload_redis_cannot_be_asked()
    {
        // Nothing listens on port 1: the check fails at once, as against a payload Redis that is down.
        using var unreachable = await ConnectionMultiplexer.ConnectAsync("127.0.0.1:1,abortConnect=false,connectTimeout=500,asyncTimeout=500,syncTimeout=500");
        var store = new RedisClaimCheckStore(unreachable);
        var log = new RecordedLog();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(log));
        var recovery = new GlobalModelRecovery(store, new WeightTransport(store, ClaimChecked), ClaimChecked, new InMemoryCheckpointStore(),
            new ConfiguredStrategies(), loggers.CreateLogger<GlobalModelRecovery>());
        var global = new WeightsPayload { ClaimCheckKey = "icosfl:weights:x:global:1:abc", Length = 10, Checksum = "0123456789abcdef" };
        var saga = new FederationState { CorrelationId = Guid.NewGuid(), Round = 2, GlobalWeights = global };

        await recovery.EnsureFetchableAsync(saga);

        Assert.Same(global, saga.GlobalWeights);
        var warning = Assert.Single(log.Entries);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.StartsWith($"Federation {saga.CorrelationId} round 2: could not check that the global model is still in the claim-check store (", warning.Message);
    }

    private static async Task ReportAsync(FederationHarness h, IEnumerable<EvaluationRequested> requests)
    {
        foreach (var r in requests)
            await h.ReportEvaluationAsync(r, mse: 1.0, numExamples: 10);
    }
}
