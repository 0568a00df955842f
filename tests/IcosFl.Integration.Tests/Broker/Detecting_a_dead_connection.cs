using System.Net.Http.Json;
using System.Text.Json;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Integration.Tests.Deployed;
using IcosFl.Integration.Tests.Servers;
using MassTransit;

namespace IcosFl.Integration.Tests.Broker;

/// <summary>
/// The AMQP heartbeat every IcosFl bus asks the broker for (<see cref="RabbitMqTopology.IcosFlHost"/>), as the broker
/// itself reports it for the connection (the management API's "timeout", in seconds).
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class Detecting_a_dead_connection(TestServers servers)
{
    [Fact]
    public async Task Should_ask_for_a_10_s_heartbeat_by_default()
    {
        Assert.Equal(10, await NegotiatedHeartbeatAsync(servers.BrokerUri.ToString(), "icosfl-heartbeat-default"));
    }

    [Fact]
    public async Task Should_keep_the_heartbeat_the_broker_uri_names()
    {
        var uri = new UriBuilder(servers.BrokerUri) { Query = "heartbeat=25" }.Uri.ToString();
        Assert.Equal(25, await NegotiatedHeartbeatAsync(uri, "icosfl-heartbeat-uri"));
    }

    private async Task<int> NegotiatedHeartbeatAsync(string broker, string connectionName)
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.IcosFlHost(broker);
            cfg.ReceiveEndpoint(connectionName + "-" + Guid.NewGuid().ToString("N"), e =>
            {
                e.AutoDelete = true;
                e.Durable = false;
                e.ConfigureConsumeTopology = false;
                e.Handler<Probe>(_ => Task.CompletedTask);
            });
        });
        using var start = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await bus.StartAsync(start.Token);
        try
        {
            using var http = DeployedFleet.ManagementClient(servers);
            var ownPort = 0;
            for (var deadline = DateTime.UtcNow.AddSeconds(20); DateTime.UtcNow < deadline; await Task.Delay(250))
            {
                // The bus's connection: the one whose queue was just declared, found through its channel's consumers.
                var consumers = await http.GetFromJsonAsync<JsonElement[]>("api/consumers");
                var mine = consumers!.FirstOrDefault(c => c.GetProperty("queue").GetProperty("name").GetString()!.StartsWith(connectionName, StringComparison.Ordinal));
                if (mine.ValueKind == JsonValueKind.Undefined)
                    continue;
                var connection = mine.GetProperty("channel_details").GetProperty("connection_name").GetString()!;
                var details = await http.GetFromJsonAsync<JsonElement>("api/connections/" + Uri.EscapeDataString(connection));
                ownPort = details.GetProperty("peer_port").GetInt32();
                return details.GetProperty("timeout").GetInt32();
            }

            throw new TimeoutException($"no consumer on a queue named {connectionName}-... appeared in the management API within 20 s (peer port {ownPort})");
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }
    }
}

/// <summary>A message no one sends: it only gives the probe bus's endpoint a consumer on the broker.</summary>
public sealed record Probe;
