using System.Net;
using System.Text.Json;
using IcosFl.Contracts;
using IcosFl.Controller;
using IcosFl.Controller.Checkpoints;
using IcosFl.Controller.Prediction;
using IcosFl.Controller.Status;
using IcosFl.Learning.NodeData;
using Microsoft.Extensions.DependencyInjection;

namespace IcosFl.Dashboard.Tests;

/// <summary>
/// GET /api/federations/{id}/evaluations and /forecast on the served federation: RMSE against persistence per round, and
/// per node (the controller's and, in the simulation, both workers') the recent series with the latest model's forecast.
/// </summary>
[Collection(ServedFederationCollection.Name)]
public sealed class Showing_the_forecast_and_its_quality(ServedFederation served)
{
    private static readonly int Horizon = RunConfig.Default.ForecastHorizon;

    [Fact]
    public async Task Should_give_each_completed_round_its_centralized_rmse_beside_persistence_and_the_workers_evaluations()
    {
        var evaluations = await served.GetJsonAsync<FederationEvaluations>($"/api/federations/{served.Report.FederationId}/evaluations");

        Assert.Equal(served.Report.FederationId, evaluations.FederationId);
        Assert.Equal(Metrics.CpuUsage, evaluations.Metric);
        Assert.Equal(Enumerable.Range(1, ServedFederation.Rounds), evaluations.Rounds.Select(r => r.Round));
        // The saga's numbers are the ones the rounds reported (the report was built from the RoundCompleted events).
        Assert.Equal(served.Report.Rounds.Select(r => r.CentralizedRmse), evaluations.Rounds.Select(r => r.Rmse));
        Assert.Equal(served.Report.Rounds.Select(r => r.TrainLoss), evaluations.Rounds.Select(r => r.TrainLoss ?? double.NaN));
        Assert.Equal(served.Report.Final!.PersistenceRmse, evaluations.Rounds[^1].PersistenceRmse);
        // Persistence scores the same windows of the same data whatever the model: one value for every round.
        Assert.Single(evaluations.Rounds.Select(r => r.PersistenceRmse).Distinct());
        Assert.All(evaluations.Rounds, r =>
        {
            Assert.True(r.PersistenceRmse > 0);
            Assert.True(r.NumExamples > 0);
            Assert.Equal(["worker-1", "worker-2"], r.Workers.Select(w => w.WorkerId));
            Assert.All(r.Workers, w =>
            {
                Assert.Null(w.DeclinedReason);
                Assert.True(w.Rmse > 0);
                Assert.True(w.PersistenceRmse > 0);
            });
        });
    }

    [Fact]
    public async Task Should_forecast_every_held_node_over_the_horizon_from_a_horizon_before_the_end_of_its_series()
    {
        var before = DateTimeOffset.UtcNow;
        var forecast = await served.GetJsonAsync<FederationForecast>($"/api/federations/{served.Report.FederationId}/forecast");

        var checkpoint = (await NodePrediction.LoadAsync(served.Services.GetRequiredService<ICheckpointStore>(), served.Report.FederationId, CheckpointKind.Latest))!;
        Assert.Equal(ServedFederation.Rounds, checkpoint.Round);
        Assert.Equal(checkpoint.Round, forecast.Round);
        Assert.Null(forecast.Reason);
        Assert.Equal(Horizon, forecast.Horizon);
        Assert.Equal(3, forecast.StepSeconds);
        Assert.Equal(["controller", "worker-1", "worker-2"], forecast.Nodes.Select(n => n.Node));
        Assert.Equal(["controller", "worker", "worker"], forecast.Nodes.Select(n => n.Role));

        // The simulation's data, made again here: node 0 is the controller's, workers are nodes 1..N.
        for (int i = 0; i < forecast.Nodes.Count; i++)
        {
            var node = forecast.Nodes[i];
            var series = new SyntheticNodeData(i, ServedFederation.Points, RunConfig.Default.Seed).GetSeries(Metrics.CpuUsage)!.ToArray();
            Assert.Null(node.Reason);
            // Twice the horizon by default: the last actual points, 3 s apart, the newest stamped at the request's time.
            Assert.Equal(series[^(2 * Horizon)..].Select(v => (double)v), node.Actual.Select(p => p.Value));
            Assert.InRange(node.Actual[^1].Time, before.AddMilliseconds(-1), DateTimeOffset.UtcNow);
            Assert.Equal(node.Actual[^1].Time - node.Actual[0].Time, TimeSpan.FromSeconds(3 * (2 * Horizon - 1)));

            // The forecast starts a horizon before the newest point, so each step falls on an actual point.
            Assert.Equal(Horizon, node.Forecast.Count);
            Assert.Equal(node.Actual[^(Horizon + 1)].Time, node.Origin);
            Assert.Equal(node.Actual.Skip(node.Actual.Count - Horizon).Select(p => p.Time), node.Forecast.Select(p => p.Time));
            Assert.Equal(Enumerable.Range(1, Horizon), node.Forecast.Select(p => p.Step));

            // The numbers icosfl predict gives for the latest model from the series without its last horizon points.
            var times = Enumerable.Range(0, series.Length - Horizon)
                .Select(k => node.Origin!.Value.ToUnixTimeMilliseconds() - (series.Length - Horizon - 1 - k) * 3000L).ToArray();
            var expected = NodePrediction.Predict(checkpoint, "x", node.Node, times, series[..^Horizon], null, null, null);
            Assert.Equal(expected.Points.Select(p => p.Value), node.Forecast.Select(p => p.Value));
        }
    }

    [Fact]
    public async Task Should_show_as_many_actual_points_as_asked()
    {
        var forecast = await served.GetJsonAsync<FederationForecast>($"/api/federations/{served.Report.FederationId}/forecast?points=150");

        Assert.All(forecast.Nodes, n => Assert.Equal(150, n.Actual.Count));
        Assert.All(forecast.Nodes, n => Assert.Equal(Horizon, n.Forecast.Count));
    }

    [Fact]
    public async Task Should_give_the_series_and_an_empty_forecast_with_the_reason_when_there_is_no_checkpoint_yet()
    {
        // The real API on the served federation's sagas and data, with a checkpoint store holding nothing yet.
        var api = new ForecastApi(served.Services.GetRequiredService<ISagaReader>(), served.Services.GetRequiredService<ControllerOptions>(),
            TimeProvider.System, served.Services.GetServices<IHeldNodeData>(), new InMemoryCheckpointStore(),
            served.Services.GetRequiredService<INodeDataSource>());

        var forecast = (await api.ForecastAsync(served.Report.FederationId, null, CancellationToken.None))!;

        Assert.Null(forecast.Round);
        Assert.Equal($"federation {served.Report.FederationId} has no checkpoint yet: no round has completed", forecast.Reason);
        Assert.Equal(3, forecast.Nodes.Count);
        Assert.All(forecast.Nodes, n =>
        {
            Assert.Empty(n.Forecast);
            Assert.Null(n.Origin);
            Assert.Equal(forecast.Reason, n.Reason);
            Assert.Equal(2 * Horizon, n.Actual.Count);
        });
    }

    [Theory]
    [InlineData("evaluations")]
    [InlineData("forecast")]
    public async Task Should_answer_an_unknown_federation_with_404_naming_it(string what)
    {
        var id = Guid.NewGuid();
        using var response = await served.Http.GetAsync($"/api/federations/{id}/{what}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal($"no federation {id}", await ErrorOf(response));
    }

    [Theory]
    [InlineData("points=0")]
    [InlineData("points=ten")]
    [InlineData("points=5&points=6")]
    public async Task Should_answer_a_bad_points_value_with_400_saying_what_it_must_be(string query)
    {
        using var response = await served.Http.GetAsync($"/api/federations/{served.Report.FederationId}/forecast?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith("points must be given once, a whole number from 1 to 10000", await ErrorOf(response));
    }

    private static async Task<string?> ErrorOf(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
}
