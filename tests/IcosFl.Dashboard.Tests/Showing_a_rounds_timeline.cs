using System.Net;
using IcosFl.Controller.Status;

namespace IcosFl.Dashboard.Tests;

/// <summary>
/// GET /api/federations/{id}/rounds/{round}/timeline on the served federation: every selected worker of the round, what
/// became of it, when its update arrived after the round opened (the controller's clock) and how long it trained.
/// </summary>
[Collection(ServedFederationCollection.Name)]
public sealed class Showing_a_rounds_timeline(ServedFederation served)
{
    [Fact]
    public async Task Should_give_every_selected_worker_its_arrival_after_the_opening_and_its_training_time()
    {
        var id = served.Report.FederationId;
        var status = await served.GetJsonAsync<FederationStatus>($"/api/federations/{id}");
        for (int round = 1; round <= ServedFederation.Rounds; round++)
        {
            var timeline = await served.GetJsonAsync<RoundTimeline>($"/api/federations/{id}/rounds/{round}/timeline");
            var summary = status.Rounds.Last(r => r.Round == round);

            Assert.Equal(round, timeline.Round);
            Assert.Equal(summary.RoundId, timeline.RoundId);
            Assert.Equal("Completed", timeline.State);
            Assert.Equal(["worker-1", "worker-2"], timeline.Workers.Select(w => w.WorkerId));
            Assert.All(timeline.Workers, w =>
            {
                Assert.Equal("counted", w.Outcome);
                Assert.Null(w.Reason);
                Assert.True(w.TrainingMs > 0, $"{w.WorkerId} trained for {w.TrainingMs} ms");
                // The round opened before the worker got it, and it answered after training: the arrival bounds the training.
                Assert.True(w.ArrivedAfterMs >= w.TrainingMs, $"{w.WorkerId}: arrived after {w.ArrivedAfterMs} ms, trained {w.TrainingMs} ms");
                Assert.True(w.ArrivedAfterMs < 120_000, $"{w.WorkerId}: arrived after {w.ArrivedAfterMs} ms");
            });
        }
    }

    [Fact]
    public async Task Should_refuse_a_bad_round_and_say_when_there_is_no_such_round()
    {
        var id = served.Report.FederationId;
        using var bad = await served.Http.GetAsync($"/api/federations/{id}/rounds/zero/timeline");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("round must be a round number from 1, got 'zero'", await bad.Content.ReadAsStringAsync());
        using var missing = await served.Http.GetAsync($"/api/federations/{id}/rounds/99/timeline");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains($"federation {id} has no round 99", await missing.Content.ReadAsStringAsync());
    }
}
