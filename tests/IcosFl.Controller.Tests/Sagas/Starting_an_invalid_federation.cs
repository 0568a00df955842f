using IcosFl.Contracts;
using MassTransit;

namespace IcosFl.Controller.Tests.Sagas;

public sealed class Starting_an_invalid_federation
{
    [Fact]
    public async Task Should_fault_naming_the_key_and_create_no_federation()
    {
        await using var h = await FederationHarness.StartAsync();
        var id = NewId.NextGuid();
        await h.Harness.Bus.Publish(new StartFederation { FederationId = id, RunConfigText = "metric=bogus" });

        Assert.True(await h.Harness.Published.Any<Fault<StartFederation>>(m => m.Context.Message.Message.FederationId == id));
        var fault = h.Harness.Published.Select<Fault<StartFederation>>().Single().Context.Message;
        Assert.Contains("metric", fault.Exceptions[0].Message);
        Assert.Contains("bogus", fault.Exceptions[0].Message);
        Assert.Null(h.Federations.Sagas.Contains(id));
        Assert.False(await h.Harness.Published.Any<FederationStarted>());
    }

    [Fact]
    public async Task Should_ignore_a_duplicate_start_of_the_same_federation()
    {
        await using var h = await FederationHarness.StartAsync();
        await h.HeartbeatAsync("worker-1", "worker-2");
        var id = await h.StartFederationAsync(RunConfig.Default with { NumServerRounds = 1, MinEvaluateClients = 10 });
        await h.PublishedAsync<RoundStarted>(2, m => m.FederationId == id);

        await h.Harness.Bus.Publish(new StartFederation { FederationId = id, RunConfig = RunConfig.Default });
        Assert.True(await h.Harness.Consumed.Any<StartFederation>(m => m.Context.Message.FederationId == id && m.Context.Message.RunConfig!.NumServerRounds == 10));
        Assert.Single(h.Harness.Published.Select<FederationStarted>(m => m.Context.Message.FederationId == id));
        Assert.Equal(1, h.Federations.Sagas.Contains(id)!.RunConfig.NumServerRounds);
    }
}
