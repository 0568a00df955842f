using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace IcosFl.Cli.Enrolment;

/// <summary>
/// The few calls of RabbitMQ's management HTTP API that node enrolment needs (users, permissions, connections), as the
/// operator's admin user. Every failure is a <see cref="ManagementApiException"/> naming the address and what went wrong.
/// </summary>
public sealed class RabbitMqManagement : IDisposable
{
    private readonly HttpClient _http;

    public RabbitMqManagement(Uri baseAddress, string user, string password, TimeSpan timeout)
    {
        BaseAddress = baseAddress.AbsoluteUri.EndsWith('/') ? baseAddress : new Uri(baseAddress.AbsoluteUri + "/");
        User = user;
        _http = new HttpClient { BaseAddress = BaseAddress, Timeout = timeout };
        _http.DefaultRequestHeaders.Authorization =
            new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
    }

    public Uri BaseAddress { get; }
    public string User { get; }

    /// <summary>True when the user exists.</summary>
    public async Task<bool> UserExistsAsync(string name, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, $"api/users/{Segment(name)}", null, ct, HttpStatusCode.NotFound);
        return response.StatusCode != HttpStatusCode.NotFound;
    }

    /// <summary>The names of all users.</summary>
    public async Task<IReadOnlyList<string>> UserNamesAsync(CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, "api/users", null, ct);
        var users = await response.Content.ReadFromJsonAsync<List<NamedEntry>>(ct) ?? [];
        return users.Select(u => u.Name).ToList();
    }

    /// <summary>Creates a user without tags (no management UI access) with this password.</summary>
    public async Task CreateUserAsync(string name, string password, CancellationToken ct)
    {
        using var _ = await SendAsync(HttpMethod.Put, $"api/users/{Segment(name)}", new { password, tags = "" }, ct);
    }

    public async Task SetPermissionsAsync(string vhost, string user, string configure, string write, string read, CancellationToken ct)
    {
        using var _ = await SendAsync(HttpMethod.Put, $"api/permissions/{Segment(vhost)}/{Segment(user)}", new { configure, write, read }, ct);
    }

    /// <summary>Sets the user's topic permission on one topic exchange (routing and binding keys it may write and read).</summary>
    public async Task SetTopicPermissionsAsync(string vhost, string user, string exchange, string write, string read, CancellationToken ct)
    {
        using var _ = await SendAsync(HttpMethod.Put, $"api/topic-permissions/{Segment(vhost)}/{Segment(user)}", new { exchange, write, read }, ct);
    }

    /// <summary>True when a vhost of that name exists.</summary>
    public async Task<bool> VhostExistsAsync(string vhost, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, $"api/vhosts/{Segment(vhost)}", null, ct, HttpStatusCode.NotFound);
        return response.StatusCode != HttpStatusCode.NotFound;
    }

    /// <summary>Deletes the user; false when there was none.</summary>
    public async Task<bool> DeleteUserAsync(string name, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Delete, $"api/users/{Segment(name)}", null, ct, HttpStatusCode.NotFound);
        return response.StatusCode != HttpStatusCode.NotFound;
    }

    /// <summary>The open AMQP connections (name, user, vhost).</summary>
    public async Task<IReadOnlyList<BrokerConnection>> ConnectionsAsync(CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, "api/connections?columns=name,user,vhost,connected_at", null, ct);
        return await response.Content.ReadFromJsonAsync<List<BrokerConnection>>(ct) ?? [];
    }

    /// <summary>Closes a connection, telling the client why; a connection already gone is not an error.</summary>
    public async Task CloseConnectionAsync(string name, string reason, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, $"api/connections/{Segment(name)}");
        request.Headers.Add("X-Reason", reason);
        using var _ = await SendAsync(request, ct, HttpStatusCode.NotFound);
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body, CancellationToken ct, params HttpStatusCode[] accepted)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
            request.Content = JsonContent.Create(body);
        return SendAsync(request, ct, accepted);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct, params HttpStatusCode[] accepted)
    {
        var what = $"{request.Method} {BaseAddress}{request.RequestUri}";
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, ct);
        }
        catch (HttpRequestException e)
        {
            throw new ManagementApiException(ManagementProblem.Unreachable,
                $"cannot reach the RabbitMQ management API at {BaseAddress} ({e.Message}); set it with --management or ICOSFL_RABBITMQ_MANAGEMENT");
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new ManagementApiException(ManagementProblem.Unreachable,
                $"the RabbitMQ management API at {BaseAddress} did not answer within {_http.Timeout.TotalSeconds:0} s");
        }
        finally
        {
            request.Dispose();
        }
        if (response.IsSuccessStatusCode || accepted.Contains(response.StatusCode))
            return response;
        var text = await response.Content.ReadAsStringAsync(ct);
        response.Dispose();
        throw response.StatusCode switch
        {
            HttpStatusCode.Unauthorized => new ManagementApiException(ManagementProblem.NotAuthorized,
                $"the RabbitMQ management API at {BaseAddress} refused user '{User}' (401 Unauthorized): give the admin user and its password in --broker / ICOSFL_BROKER"),
            HttpStatusCode.Forbidden => new ManagementApiException(ManagementProblem.NotAuthorized,
                $"the RabbitMQ management API at {BaseAddress} does not let user '{User}' do {request.Method} {request.RequestUri} (403 Forbidden): it needs the administrator tag"),
            _ => new ManagementApiException(ManagementProblem.Failed, $"{what} failed: {(int)response.StatusCode} {response.ReasonPhrase} {text}".TrimEnd()),
        };
    }

    /// <summary>One path segment, escaped ("/" the default vhost becomes %2F).</summary>
    private static string Segment(string value) => Uri.EscapeDataString(value);

    public void Dispose() => _http.Dispose();

    private sealed record NamedEntry([property: JsonPropertyName("name")] string Name);
}

/// <summary>An AMQP connection as the management API lists it.</summary>
public sealed record BrokerConnection(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("user")] string User,
    [property: JsonPropertyName("vhost")] string Vhost,
    [property: JsonPropertyName("connected_at")] long? ConnectedAtMs);

public enum ManagementProblem
{
    Unreachable,
    NotAuthorized,
    Failed,
}

public sealed class ManagementApiException(ManagementProblem problem, string message) : Exception(message)
{
    public ManagementProblem Problem { get; } = problem;
}
