using System.Net;
using System.Text.Json;
using IcosFl.Controller.Status;

namespace IcosFl.Dashboard.Tests;

[Collection(ServedFederationCollection.Name)]
public sealed class Querying_the_http_api(ServedFederation served)
{
    [Fact]
    public async Task Should_list_the_completed_federation_with_the_losses_the_rounds_reported()
    {
        var federations = await served.GetJsonAsync<List<FederationStatus>>("/api/federations");

        var federation = Assert.Single(federations, f => f.FederationId == served.Report.FederationId);
        Assert.Equal("Completed", federation.State);
        Assert.Equal(ServedFederation.Rounds, federation.Round);
        Assert.Equal(ServedFederation.Rounds, federation.NumServerRounds);
        Assert.Equal("fedavg", federation.Strategy);
        Assert.Equal("cpu_usage", federation.Metric);
        // The API reads the saga; the report was built from the RoundCompleted events: the same numbers.
        Assert.Equal(served.Report.Rounds.Select(r => r.TrainLoss), federation.Rounds.Select(r => (double?)r.TrainLoss ?? double.NaN));
        Assert.Equal(served.Report.Rounds.Select(r => r.EvalLoss), federation.Rounds.Select(r => r.EvalLoss));
        Assert.Equal(served.Report.Rounds.Select(r => r.CentralizedRmse), federation.Rounds.Select(r => r.CentralizedRmse));
    }

    [Fact]
    public async Task Should_show_one_federation_with_its_rounds_participants_and_workers()
    {
        var federation = await served.GetJsonAsync<FederationStatus>($"/api/federations/{served.Report.FederationId}");

        Assert.Equal(served.Report.FederationId, federation.FederationId);
        Assert.Equal("Completed", federation.State);
        Assert.Equal([1, 2, 3], federation.Rounds.Select(r => r.Round));
        Assert.All(federation.Rounds, r =>
        {
            Assert.Equal("Completed", r.State);
            Assert.Equal(["worker-1", "worker-2"], r.Participants.Order());
            Assert.Empty(r.Rejected);
        });
        Assert.Equal(["worker-1", "worker-2"], federation.Workers.Select(w => w.Id).Order());
        Assert.All(federation.Workers, w => Assert.True(w.Alive, $"{w.Id} should be alive"));
    }

    [Fact]
    public async Task Should_list_the_workers_with_their_heartbeats_and_data()
    {
        var workers = await served.GetJsonAsync<List<WorkerStatus>>("/api/workers");

        Assert.Equal(["worker-1", "worker-2"], workers.Select(w => w.Id).Order());
        Assert.All(workers, w =>
        {
            Assert.True(w.Alive);
            Assert.Equal("simulated", w.Host);
            Assert.Equal(ServedFederation.Points, w.DataPoints["cpu_usage"]);
            Assert.InRange(DateTimeOffset.UtcNow - w.LastHeartbeat, TimeSpan.Zero, TimeSpan.FromSeconds(30));
        });
    }

    [Fact]
    public async Task Should_say_which_mode_serves_the_dashboard_and_where_seq_is()
    {
        var info = await served.GetJsonAsync<DashboardInfo>("/api/info");

        Assert.Equal("embedded", info.Mode);
        Assert.Equal(ServedFederation.SeqUrl, info.SeqUrl);
    }

    [Fact]
    public async Task Should_answer_an_unknown_federation_with_404_naming_it()
    {
        var id = Guid.NewGuid();
        using var response = await served.Http.GetAsync($"/api/federations/{id}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal($"no federation {id}", (await ErrorOf(response)));
    }

    [Fact]
    public async Task Should_answer_an_id_that_is_not_a_guid_with_400_saying_what_an_id_is()
    {
        using var response = await served.Http.GetAsync("/api/federations/round-7");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith("'round-7' is not a federation id; a federation id is a GUID", await ErrorOf(response));
    }

    [Fact]
    public async Task Should_answer_an_unknown_api_path_with_404_listing_the_endpoints()
    {
        using var response = await served.Http.GetAsync("/api/rounds");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.StartsWith("no such API endpoint: GET /api/rounds; see /api/federations", await ErrorOf(response));
    }

    [Fact]
    public async Task Should_stream_the_federation_as_server_sent_events()
    {
        using var response = await served.Http.GetAsync($"/api/federations/{served.Report.FederationId}/events",
            HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        var status = await ServerSentEvents.NextStatusAsync(reader);

        Assert.Equal(served.Report.FederationId, status.FederationId);
        Assert.Equal("Completed", status.State);
        Assert.Equal(ServedFederation.Rounds, status.Rounds.Count);
    }

    [Fact]
    public async Task Should_serve_the_pages_and_their_assets_from_the_process_itself()
    {
        var index = await served.Http.GetStringAsync("/");
        var page = await served.Http.GetStringAsync($"/federations/{served.Report.FederationId}");
        using var script = await served.Http.GetAsync("/assets/dashboard.js");
        using var missing = await served.Http.GetAsync("/assets/..%2Fdashboard%2Findex.html");

        Assert.Contains("<title>IcosFl federations</title>", index);
        Assert.Contains("id=\"loss-chart\"", page);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        // Nothing is fetched from elsewhere: every src/href is a path on this server.
        Assert.DoesNotContain("http://", page.Replace("http://www.w3.org", ""));
        Assert.DoesNotContain("https://", page);
    }

    private static async Task<string?> ErrorOf(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
}
