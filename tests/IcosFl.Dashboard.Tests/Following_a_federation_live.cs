using IcosFl.Contracts;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace IcosFl.Dashboard.Tests;

[Collection(ServedFederationCollection.Name)]
public sealed class Following_a_federation_live(ServedFederation served)
{
    [Fact]
    public async Task Should_push_a_new_status_as_each_round_completes()
    {
        var federationId = NewId.NextGuid();
        var activity = served.Services.GetRequiredService<FederationActivity>();
        await served.Services.GetRequiredService<IBus>().Publish(new StartFederation
        {
            FederationId = federationId,
            RunConfig = RunConfigParser.Parse("num-server-rounds=2 local-epochs=1", RunConfig.Default),
            RequestedBy = "dashboard test",
        });
        // The stream answers 404 until the federation's saga exists: wait for the bus to say something happened.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        HttpResponseMessage response;
        while (true)
        {
            var seen = activity.Version;
            response = await served.Http.GetAsync($"/api/federations/{federationId}/events", HttpCompletionOption.ResponseHeadersRead);
            if (response.IsSuccessStatusCode)
                break;
            response.Dispose();
            Assert.True(DateTime.UtcNow < deadline, "the federation never appeared in the API");
            await activity.WaitAsync(seen, TimeSpan.FromSeconds(1), CancellationToken.None);
        }

        var completedRoundsSeen = new List<int>();
        using (response)
        using (var reader = new StreamReader(await response.Content.ReadAsStreamAsync()))
        {
            while (true)
            {
                var status = await ServerSentEvents.NextStatusAsync(reader);
                Assert.Equal(federationId, status.FederationId);
                completedRoundsSeen.Add(status.Rounds.Count(r => r.State == "Completed"));
                if (status.State != "Running")
                {
                    Assert.Equal("Completed", status.State);
                    break;
                }
            }
        }

        // Seen while running, then every round's completion, in order, ending with both.
        Assert.True(completedRoundsSeen.Count >= 3, $"only {completedRoundsSeen.Count} updates: [{string.Join(", ", completedRoundsSeen)}]");
        Assert.Equal(completedRoundsSeen.Order(), completedRoundsSeen);
        Assert.Contains(0, completedRoundsSeen);
        Assert.Contains(1, completedRoundsSeen);
        Assert.Equal(2, completedRoundsSeen[^1]);
    }
}
