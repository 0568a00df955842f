using System.Net;
using System.Text.Json.Nodes;
using IcosFl.Contracts;
using IcosFl.Controller.Checkpoints;
using IcosFl.Controller.Prediction;
using IcosFl.Learning.NodeData;
using Microsoft.Extensions.DependencyInjection;

namespace IcosFl.Dashboard.Tests;

/// <summary>GET /api/predictions on the served federation: its checkpoints are in memory, its controller data synthetic (no timestamps of its own).</summary>
[Collection(ServedFederationCollection.Name)]
public sealed class Predicting_from_the_controllers_data(ServedFederation served)
{
    [Fact]
    public async Task Should_forecast_the_controllers_synthetic_series_with_the_best_checkpoint()
    {
        var before = DateTimeOffset.UtcNow;
        var forecast = await served.GetJsonAsync<JsonObject>("/api/predictions?horizon=5");

        var checkpoint = await NodePrediction.LoadAsync(served.Services.GetRequiredService<ICheckpointStore>(), served.Report.FederationId, CheckpointKind.Best);
        var series = served.Services.GetRequiredService<INodeDataSource>().GetSeries(Metrics.CpuUsage)!;
        var (times, _) = NodePrediction.PointsOf(served.Services.GetRequiredService<INodeDataSource>(), Metrics.CpuUsage, before);
        var expected = NodePrediction.Predict(checkpoint!, "x", "controller", times, series.ToArray(), null, 5, null);

        Assert.Equal(served.Report.FederationId.ToString(), (string?)forecast["federationId"]);
        Assert.Equal(checkpoint!.Round, (int?)forecast["round"]);
        Assert.Equal("controller", (string?)forecast["node"]);
        Assert.Equal((double)series[^1], forecast["lastValue"]!.GetValue<double>(), 6);
        Assert.Equal(expected.Points.Select(p => p.Value), forecast["points"]!.AsArray().Select(p => (double)p!["value"]!));
        // A series without timestamps ends "now": the request's time, steps 3 s apart after it.
        var origin = DateTimeOffset.Parse((string)forecast["origin"]!);
        Assert.InRange(origin, before.AddMilliseconds(-1), DateTimeOffset.UtcNow);
        Assert.Equal(origin.AddSeconds(15), DateTimeOffset.Parse((string)forecast["points"]![4]!["time"]!));
    }

    [Fact]
    public async Task Should_answer_404_naming_the_parameter_for_a_federation_without_checkpoints()
    {
        var unknown = Guid.NewGuid();
        var response = await served.Http.GetAsync($"/api/predictions?federation={unknown}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("federation", (string?)problem["parameter"]);
        Assert.Equal($"no checkpoint of federation {unknown} in memory ({unknown})", (string?)problem["detail"]);
    }

    [Fact]
    public async Task Should_say_not_enough_data_when_the_series_is_shorter_than_the_window()
    {
        var checkpoint = (await NodePrediction.LoadAsync(served.Services.GetRequiredService<ICheckpointStore>(), served.Report.FederationId, CheckpointKind.Latest))!;

        var e = Assert.Throws<PredictionException>(() => NodePrediction.Predict(checkpoint, "x", "controller",
            [0L, 3000, 6000, 9000, 12000, 15000, 18000, 21000, 24000], [1f, 2, 3, 4, 5, 6, 7, 8, 9], null, 3, PredictionScalers.Model));
        Assert.Equal("node", e.Parameter);
        Assert.True(e.NotFound);
        Assert.Equal("node controller, cpu_usage: not enough data: The series holds 9 points but 10 are needed (the last time-step 10 points to forecast from).", e.Message);
    }

    [Theory]
    [InlineData("metric=disk", "metric")]
    [InlineData("scaler=bogus", "scaler")]
    public async Task Should_answer_400_for_a_bad_value_before_looking_for_the_model(string query, string parameter)
    {
        // The federation does not exist: a bad value is still named as such, not hidden behind the missing model.
        var response = await served.Http.GetAsync($"/api/predictions?federation={Guid.NewGuid()}&{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(parameter, (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["parameter"]);
    }

    [Fact]
    public async Task Should_name_the_scaler_before_the_missing_node_data()
    {
        var checkpoint = (await NodePrediction.LoadAsync(served.Services.GetRequiredService<ICheckpointStore>(), served.Report.FederationId, CheckpointKind.Latest))!;

        var e = Assert.Throws<PredictionException>(() => NodePrediction.Predict(checkpoint, "x", "controller", [], [], null, 3, "bogus"));

        Assert.Equal("scaler", e.Parameter);
        Assert.False(e.NotFound);
    }
}
