using System.Net.Http.Json;
using System.Text.Json;
using IcosFl.Integration.Tests.Servers;
using IcosFl.TestKit;
using Xunit.Abstractions;

namespace IcosFl.Integration.Tests.Deployed;

/// <summary>
/// StartFederation published as plain JSON through RabbitMQ's management HTTP API (no MassTransit on
/// the sending side), as a Python or shell client would: the README documents this exact envelope.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class Starting_a_federation_from_any_amqp_client(TestServers servers, ITestOutputHelper output)
{
    private const string Exchange = "IcosFl.Contracts:StartFederation";

    [Fact]
    public async Task Should_run_a_federation_started_by_the_documented_json()
    {
        await using var fleet = await DeployedFleet.CreateAsync(servers, output);
        fleet.StartController();
        fleet.StartWorker("w1");
        fleet.StartWorker("w2");
        await fleet.ReadyAsync("w1", "w2");
        var id = Guid.NewGuid();

        await PublishAsync(fleet, $$"""
            {
              "messageType": ["urn:message:IcosFl.Contracts:StartFederation"],
              "message": { "federationId": "{{id}}", "runConfigText": "num-server-rounds=2 local-epochs=1" }
            }
            """);

        var done = await fleet.WaitForAsync(id, s => s.State == "Completed", TimeSpan.FromMinutes(3), "completion");
        Assert.Equal([1, 2], done.Rounds.Where(r => r.State == "Completed").Select(r => r.Round));
    }

    [Fact]
    public async Task Should_reject_an_invalid_or_malformed_command_to_the_error_queue_and_change_nothing()
    {
        await using var fleet = await DeployedFleet.CreateAsync(servers, output);
        fleet.StartController();
        var id = Guid.NewGuid();
        // Wait until the controller's endpoint exists, so the messages are routed somewhere.
        await WaitForQueueAsync(fleet, "icosfl-start-federation", q => q.ValueKind == JsonValueKind.Object);

        await PublishAsync(fleet, $$"""{"messageType": ["urn:message:IcosFl.Contracts:StartFederation"], "message": { "federationId": "{{id}}", "runConfigText": "metric=bogus" } }""");
        await PublishAsync(fleet, """{"messageType": ["urn:message:IcosFl.Contracts:StartFederation"], "message": { "runConfigText": "num-server-rounds=2" }}""");
        await PublishAsync(fleet, "this is not json");

        await WaitForQueueAsync(fleet, "icosfl-start-federation_error", q => q.GetProperty("messages").GetInt32() == 3);
        Assert.Null(await fleet.SagaAsync(id));
        Assert.Empty(await fleet.Status.ListAsync());
        var log = fleet.LogTail(400);
        Assert.Contains("rejected", log);
        Assert.Contains("metric", log);
    }

    private static async Task PublishAsync(DeployedFleet fleet, string body)
    {
        using var http = DeployedFleet.ManagementClient(fleet.ServersForTests);
        var response = await http.PostAsJsonAsync($"api/exchanges/{Uri.EscapeDataString(fleet.VirtualHost)}/{Uri.EscapeDataString(Exchange)}/publish", new
        {
            properties = new { content_type = "application/vnd.masstransit+json", delivery_mode = 2 },
            routing_key = "",
            payload = body,
            payload_encoding = "string",
        });
        response.EnsureSuccessStatusCode();
        var result = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(result.GetProperty("routed").GetBoolean(), $"the broker routed the message nowhere: {result}");
    }

    private static async Task WaitForQueueAsync(DeployedFleet fleet, string queue, Func<JsonElement, bool> condition)
    {
        using var http = DeployedFleet.ManagementClient(fleet.ServersForTests);
        JsonElement last = default;
        await Eventually.UntilAsync(async () =>
            {
                var response = await http.GetAsync($"api/queues/{Uri.EscapeDataString(fleet.VirtualHost)}/{Uri.EscapeDataString(queue)}");
                if (response.IsSuccessStatusCode)
                    last = await response.Content.ReadFromJsonAsync<JsonElement>();
                return last;
            }, q => q.ValueKind == JsonValueKind.Object && q.TryGetProperty("messages", out _) && condition(q), TimeSpan.FromSeconds(60),
            $"queue {queue} in the expected state", TimeSpan.FromMilliseconds(250), describe: q => $"{q}\n{fleet.LogTail()}");
    }
}
