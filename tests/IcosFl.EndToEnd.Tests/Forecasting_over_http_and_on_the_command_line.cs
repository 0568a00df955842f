using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace IcosFl.EndToEnd.Tests;

/// <summary>
/// GET /api/predictions on the controller's HTTP host and `icosfl predict --json` give the same forecast for the
/// same checkpoint and the same node data: a simulation on the CSV fixtures (controller.csv is the controller's
/// own data) keeps serving, and the same file imported into a node store is what predict reads.
/// </summary>
public sealed class Forecasting_over_http_and_on_the_command_line : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "icosfl-e2e-" + Guid.NewGuid().ToString("N"));

    public Forecasting_over_http_and_on_the_command_line() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Should_return_the_numbers_predict_prints_and_problems_naming_the_bad_parameter()
    {
        var checkpoints = Path.Combine(_dir, "checkpoints");
        await using var simulation = RunningCli.Start(_dir, "simulate", "--data", Simulating_with_node_data_files.Fixtures, "--rounds", "2",
            "--run-config", "local-epochs=1", "--json", "--checkpoint-dir", checkpoints, "--http", "127.0.0.1:0");
        var serving = await simulation.LineAsync(l => l.StartsWith("the dashboard stays up at ", StringComparison.Ordinal), TimeSpan.FromMinutes(3));
        var address = new Uri(serving["the dashboard stays up at ".Length..serving.IndexOf(": Ctrl-C", StringComparison.Ordinal)]);
        // --json prints the report on stdout before the stderr line above, but the two pipes are read apart.
        var report = await simulation.StdOutLineAsync(l => l.StartsWith('{'), TimeSpan.FromSeconds(30));
        var federationId = JsonDocument.Parse(report).RootElement.GetProperty("federationId").GetString()!;
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };

        var served = await http.GetAsync("/api/predictions?node=controller&metric=cpu_usage&horizon=12");
        var servedText = await served.Content.ReadAsStringAsync();
        Assert.True(served.StatusCode == HttpStatusCode.OK, servedText);

        var data = Path.Combine(_dir, "data");
        var import = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "data", "import", "--file",
            Path.Combine(Simulating_with_node_data_files.Fixtures, "controller.csv"), "--node", "controller", "--data-dir", data);
        Assert.True(import.ExitCode == 0, import.StdErr);
        var predicted = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "predict", "--federation", federationId, "--node", "controller",
            "--metric", "cpu_usage", "--horizon", "12", "--json", "--data-dir", data, "--checkpoint-dir", checkpoints);
        Assert.True(predicted.ExitCode == 0, predicted.StdErr);

        // One document, field for field and number for number.
        var fromHttp = JsonNode.Parse(servedText)!;
        var fromCli = JsonNode.Parse(predicted.StdOut)!;
        Assert.True(JsonNode.DeepEquals(fromHttp, fromCli), $"HTTP:\n{fromHttp}\nCLI:\n{fromCli}");
        Assert.Equal($"federation {federationId}", (string?)fromHttp["model"]);
        Assert.Equal("controller", (string?)fromHttp["node"]);
        Assert.Equal(12, fromHttp["points"]!.AsArray().Count);
        // The last row of controller.csv is 2026-11-28T10:11:57Z; the forecast runs 3 s apart from there.
        Assert.Equal("2026-11-28T10:11:57+00:00", (string?)fromHttp["origin"]);
        Assert.Equal("2026-11-28T10:12:00+00:00", (string?)fromHttp["points"]![0]!["time"]);
        Assert.Equal("2026-11-28T10:12:33+00:00", (string?)fromHttp["points"]![11]!["time"]);

        // Defaults: the controller's node, the model's metric and forecast-horizon, the most recent federation.
        var defaults = await http.GetFromJsonAsync<JsonObject>("/api/predictions");
        Assert.Equal(100, (int?)defaults!["horizon"]);
        Assert.Equal(federationId, (string?)defaults["federationId"]);
        Assert.Equal(fromHttp["points"]![0]!.ToJsonString(), defaults["points"]![0]!.ToJsonString());

        async Task Problem(string query, HttpStatusCode status, string parameter, string detail)
        {
            var response = await http.GetAsync("/api/predictions?" + query);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == status, $"{query}: {(int)response.StatusCode} {body}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = JsonNode.Parse(body)!;
            Assert.Equal(parameter, (string?)problem["parameter"]);
            Assert.Equal(detail, (string?)problem["detail"]);
            Assert.Equal((int)status, (int?)problem["status"]);
        }

        await Problem("metric=disk", HttpStatusCode.BadRequest, "metric",
            "unknown metric 'disk'; known metrics: cpu_usage, memory_usage, power_consumption, cpu_utilisation");
        await Problem("metric=memory_usage", HttpStatusCode.BadRequest, "metric",
            "metric memory_usage: the model forecasts cpu_usage; a model trained on one metric cannot forecast another");
        await Problem("horizon=0", HttpStatusCode.BadRequest, "horizon", "horizon must be 1 to 2000 steps, got 0");
        await Problem("horizon=2001", HttpStatusCode.BadRequest, "horizon", "horizon must be 1 to 2000 steps, got 2001");
        await Problem("horizon=ten", HttpStatusCode.BadRequest, "horizon", "horizon must be a whole number of steps, got 'ten'");
        await Problem("federation=42", HttpStatusCode.BadRequest, "federation", "federation '42' is not a federation id (a GUID)");
        await Problem("checkpoint=worst", HttpStatusCode.BadRequest, "checkpoint", "checkpoint must be 'best' or 'latest', got 'worst'");
        var unknown = Guid.NewGuid();
        await Problem($"federation={unknown}", HttpStatusCode.NotFound, "federation",
            $"no checkpoint of federation {unknown} in {Path.Combine(checkpoints, unknown.ToString())}");
        await Problem("node=edge-a", HttpStatusCode.NotFound, "node",
            "node 'edge-a' is not this controller's node; the controller holds only its own node's data ('controller'): " +
            "forecast a worker's data on that worker with icosfl predict --node NAME");

        // The command line refuses the same way, through the same function.
        var refused = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "predict", "--federation", federationId, "--node", "controller",
            "--horizon", "0", "--data-dir", data, "--checkpoint-dir", checkpoints);
        Assert.Equal(2, refused.ExitCode);
        Assert.Equal("icosfl predict: horizon must be 1 to 2000 steps, got 0", refused.StdErr.Trim());
    }
}
