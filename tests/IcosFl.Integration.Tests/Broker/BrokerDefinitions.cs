using System.Net.Http.Json;
using System.Text.Json.Nodes;
using IcosFl.Integration.Tests.Compose;
using IcosFl.Integration.Tests.Deployed;
using IcosFl.Integration.Tests.Servers;

namespace IcosFl.Integration.Tests.Broker;

/// <summary>
/// compose/rabbitmq/definitions.json loaded into the test broker through the management API
/// (POST /api/definitions), with its vhost renamed to a fresh one so tests never share queues. The
/// users and their password hashes are the file's own: the tests log in with compose/.env's passwords.
/// </summary>
public sealed class BrokerDefinitions : IAsyncDisposable
{
    private readonly TestServers _servers;

    private BrokerDefinitions(TestServers servers, string vhost, ComposeProject compose)
    {
        _servers = servers;
        VirtualHost = vhost;
        Compose = compose;
    }

    public string VirtualHost { get; }
    public ComposeProject Compose { get; }

    public static async Task<BrokerDefinitions> LoadAsync(TestServers servers)
    {
        var compose = ComposeProject.Find();
        var vhost = $"icosfl-perm-{Guid.NewGuid():N}";
        var definitions = JsonNode.Parse(compose.Text("rabbitmq/definitions.json"))!.AsObject();
        foreach (var v in definitions["vhosts"]!.AsArray())
            v!["name"] = vhost;
        foreach (var p in definitions["permissions"]!.AsArray())
            p!["vhost"] = vhost;
        using var http = DeployedFleet.ManagementClient(servers);
        var response = await http.PostAsJsonAsync("api/definitions", definitions);
        Assert.True(response.IsSuccessStatusCode, $"loading definitions.json: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        // The test's own admin (guest) declares what a controller would have declared before.
        var admin = Uri.UnescapeDataString(servers.BrokerUri.UserInfo.Split(':')[0]);
        (await http.PutAsJsonAsync($"api/permissions/{vhost}/{admin}", new { configure = ".*", write = ".*", read = ".*" })).EnsureSuccessStatusCode();
        return new BrokerDefinitions(servers, vhost, compose);
    }

    /// <summary>An amqp URI into this vhost as one of the definitions' users, with compose/.env's password.</summary>
    public Uri BrokerUri(string user, string passwordVariable) =>
        new UriBuilder(_servers.BrokerUri)
        {
            UserName = user,
            Password = Compose.EnvFile[passwordVariable],
            Path = "/" + Uri.EscapeDataString(VirtualHost),
        }.Uri;

    public Uri WorkerUri => BrokerUri("icosfl-worker", "ICOSFL_WORKER_PASSWORD");
    public Uri ControllerUri => BrokerUri("icosfl-controller", "ICOSFL_CONTROLLER_PASSWORD");
    public Uri AdminUri => new UriBuilder(_servers.BrokerUri) { Path = "/" + Uri.EscapeDataString(VirtualHost) }.Uri;

    public async ValueTask DisposeAsync()
    {
        using var http = DeployedFleet.ManagementClient(_servers);
        await http.DeleteAsync($"api/vhosts/{Uri.EscapeDataString(VirtualHost)}");
    }
}
