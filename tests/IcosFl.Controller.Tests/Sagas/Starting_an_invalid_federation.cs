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
        var messages = string.Join(" | ", fault.Exceptions.SelectMany(Flatten).Select(e => e.Message));
        Assert.Contains("metric", messages);
        Assert.Contains("bogus", messages);
        Assert.Contains(fault.Exceptions.SelectMany(Flatten), e => e.ExceptionType.EndsWith("InvalidFederationRequestException"));
        Assert.Null(h.Federations.Sagas.Contains(id));
        Assert.False(await h.Harness.Published.Any<FederationStarted>());
    }

    private static IEnumerable<ExceptionInfo> Flatten(ExceptionInfo e)
    {
        for (var x = e; x is not null; x = x.InnerException)
            yield return x;
    }

    [Fact]
    public async Task Should_ignore_a_duplicate_start_of_the_same_federation()
    {
        await using var h = await FederationHarness.StartAsync();
        await h.HeartbeatAsync("worker-1", "worker-2");
        var id = await h.StartFederationAsync(RunConfig.Default with { NumServerRounds = 1, MinEvaluateClients = 10 });
        await h.PublishedAsync<RoundStarted>(2, m => m.FederationId == id);

        await h.Harness.Bus.Publish(new StartFederation { FederationId = id, RunConfig = RunConfig.Default });
        Assert.True(await h.Harness.Consumed.Any<Messages.FederationRequested>(m => m.Context.Message.FederationId == id && m.Context.Message.RunConfig.NumServerRounds == 10));
        Assert.Single(h.Harness.Published.Select<FederationStarted>(m => m.Context.Message.FederationId == id));
        Assert.Equal(1, h.Federations.Sagas.Contains(id)!.RunConfig.NumServerRounds);
    }
}
