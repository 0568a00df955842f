using System.Globalization;
using System.Net;
using System.Text.Json;
using IcosFl.Controller.Status;
using Microsoft.Extensions.DependencyInjection;

namespace IcosFl.Dashboard.Tests;

[Collection(ServedFederationCollection.Name)]
public sealed class Scraping_metrics_and_health(ServedFederation served)
{
    [Fact]
    public async Task Should_count_rounds_updates_and_weight_bytes_exactly_as_the_federations_ran()
    {
        // Every federation this host ran (another test may have run a second one): the sagas are the truth.
        var federations = await served.GetJsonAsync<List<FederationStatus>>("/api/federations");
        var completed = federations.SelectMany(f => f.Rounds).Where(r => r.State == "Completed").ToList();
        var updates = completed.Sum(r => r.Participants.Count);
        var payloadLength = (await served.Services.GetRequiredService<ISagaReader>().FederationAsync(served.Report.FederationId))!
            .GlobalWeights!.Length;

        var metrics = Parse(await served.Http.GetStringAsync("/metrics"));

        Assert.Equal(completed.Count, metrics["icosfl_rounds_completed_total"]);
        Assert.Equal(0, metrics["icosfl_rounds_failed_total"]);
        Assert.Equal(updates, metrics["icosfl_updates_received_total"]);
        Assert.Equal(0, metrics["icosfl_updates_rejected_total"]);
        Assert.Equal(completed.Count, metrics["icosfl_round_duration_seconds_count"]);
        Assert.Equal(completed.Sum(r => r.DurationMs!.Value) / 1000, metrics["icosfl_round_duration_seconds_sum"], 1e-9);
        // Every update is one model; every selected worker was sent the global model to train and again to evaluate.
        Assert.Equal(updates * payloadLength, metrics["icosfl_weights_bytes_total{direction=\"in\"}"]);
        Assert.Equal(2 * updates * payloadLength, metrics["icosfl_weights_bytes_total{direction=\"out\"}"]);
        Assert.Equal(ServedFederation.Workers, metrics["icosfl_workers_alive"]);
    }

    [Fact]
    public async Task Should_be_live_and_ready_with_a_healthy_bus()
    {
        using var live = await served.Http.GetAsync("/health/live");
        using var ready = await served.Http.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var report = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("Healthy", report.GetProperty("status").GetString());
        var check = Assert.Single(report.GetProperty("checks").EnumerateArray());
        Assert.Equal("bus", check.GetProperty("name").GetString());
        Assert.Equal("Healthy", check.GetProperty("status").GetString());
    }

    /// <summary>Prometheus text format: "name{labels} value", keyed by name plus labels other than the OpenTelemetry scope.</summary>
    private static Dictionary<string, double> Parse(string text)
    {
        var values = new Dictionary<string, double>();
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith("icosfl_", StringComparison.Ordinal))
                continue;
            var space = line.LastIndexOf(' ');
            var key = line[..space];
            var brace = key.IndexOf('{');
            if (brace >= 0)
            {
                var labels = key[(brace + 1)..^1].Split(',').Where(l => !l.StartsWith("otel_scope", StringComparison.Ordinal)).ToList();
                key = key[..brace] + (labels.Count == 0 ? "" : "{" + string.Join(',', labels) + "}");
            }
            values[key] = double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
        }
        return values;
    }
}
