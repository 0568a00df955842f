using Microsoft.Playwright;

namespace IcosFl.Dashboard.Tests;

/// <summary>The real pages in a real browser: Debian's Chromium, headless, driven by Playwright.</summary>
[Collection(ServedFederationCollection.Name)]
public sealed class Viewing_the_dashboard_in_chromium(ServedFederation served)
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task Should_show_the_federation_its_workers_and_one_loss_point_per_completed_round()
    {
        await using var browser = await LaunchAsync();
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 1000 } });
        var id = served.Report.FederationId.ToString();

        await page.GotoAsync(new Uri(served.Address, $"federations/{id}").ToString());
        // The first server-sent event fills the page.
        await Assertions.Expect(page.Locator("#state")).ToHaveTextAsync("Completed");

        await Assertions.Expect(page.Locator("#federation-id")).ToHaveTextAsync(id);
        await Assertions.Expect(page.Locator("#seq-link")).ToHaveAttributeAsync("href",
            $"{ServedFederation.SeqUrl}/#/events?filter=FederationId%20%3D%20'{id}'");
        await Assertions.Expect(page.Locator("#progress-text")).ToContainTextAsync($"{ServedFederation.Rounds} of {ServedFederation.Rounds} rounds completed");
        var workers = page.Locator("#workers tbody tr.worker");
        await Assertions.Expect(workers).ToHaveCountAsync(ServedFederation.Workers);
        await Assertions.Expect(workers.Nth(0)).ToContainTextAsync("worker-1");
        await Assertions.Expect(workers.Nth(1)).ToContainTextAsync("worker-2");
        await Assertions.Expect(page.Locator("#workers td.alive")).ToHaveCountAsync(ServedFederation.Workers);

        var completedRounds = served.Report.Rounds.Count;
        Assert.Equal(ServedFederation.Rounds, completedRounds);
        await Assertions.Expect(page.Locator("#loss-chart circle.point.train")).ToHaveCountAsync(completedRounds);
        await Assertions.Expect(page.Locator("#loss-chart circle.point.eval")).ToHaveCountAsync(completedRounds);
        await Assertions.Expect(page.Locator("#loss-chart polyline.line.train")).ToHaveCountAsync(1);
        // The plotted values are the rounds' losses, in round order.
        var plotted = await page.Locator("#loss-chart circle.point.train").EvaluateAllAsync<double[]>("dots => dots.map(d => Number(d.dataset.value))");
        Assert.Equal(served.Report.Rounds.Select(r => r.TrainLoss), plotted);
        // Both workers took part in every round.
        await Assertions.Expect(page.Locator("#participation tbody .mark.used")).ToHaveCountAsync(ServedFederation.Workers * completedRounds);

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath("dashboard-federation.png"), FullPage = true });
    }

    [Fact]
    public async Task Should_chart_rmse_against_persistence_per_round_and_each_nodes_forecast_over_its_recent_series()
    {
        var id = served.Report.FederationId.ToString();
        var evaluations = await served.GetJsonAsync<FederationEvaluations>($"/api/federations/{id}/evaluations");
        var forecast = await served.GetJsonAsync<FederationForecast>($"/api/federations/{id}/forecast");
        await using var browser = await LaunchAsync();
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 1000 } });

        await page.GotoAsync(new Uri(served.Address, $"federations/{id}").ToString());
        await Assertions.Expect(page.Locator("#state")).ToHaveTextAsync("Completed");

        // One RMSE and one persistence point per completed round, the API's numbers in round order.
        var rmse = page.Locator("#rmse-chart circle.point.rmse");
        var persistence = page.Locator("#rmse-chart circle.point.persistence");
        await Assertions.Expect(rmse).ToHaveCountAsync(ServedFederation.Rounds);
        await Assertions.Expect(persistence).ToHaveCountAsync(ServedFederation.Rounds);
        await Assertions.Expect(page.Locator("#rmse-chart polyline.line.rmse")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#rmse-chart polyline.line.persistence")).ToHaveCountAsync(1);
        Assert.Equal(Enumerable.Range(1, ServedFederation.Rounds).Select(r => (double)r), await DataOf(rmse, "round"));
        Assert.Equal(evaluations.Rounds.Select(r => r.Rmse!.Value), await DataOf(rmse, "value"));
        Assert.Equal(evaluations.Rounds.Select(r => r.PersistenceRmse!.Value), await DataOf(persistence, "value"));
        Assert.Equal(served.Report.Rounds.Select(r => r.CentralizedRmse!.Value), await DataOf(rmse, "value"));

        // A chart per node this process holds: the controller's and both workers'.
        var figures = page.Locator("#forecasts figure.node-forecast");
        await Assertions.Expect(figures).ToHaveCountAsync(1 + ServedFederation.Workers);
        Assert.Equal(["controller", "worker-1", "worker-2"], await figures.EvaluateAllAsync<string[]>("fs => fs.map(f => f.dataset.node)"));
        await Assertions.Expect(page.Locator("#forecast-summary")).ToContainTextAsync($"round {ServedFederation.Rounds}'s global model, {forecast.Horizon} steps of 3 s");
        foreach (var node in forecast.Nodes)
        {
            var chart = page.Locator($"#forecasts figure[data-node='{node.Node}'] svg.forecast-chart");
            var predicted = chart.Locator("circle.point.forecast");
            var actual = chart.Locator("circle.point.actual");
            // The forecast has horizon points, steps 1 to horizon, the API's values; the actual series the API's points.
            await Assertions.Expect(predicted).ToHaveCountAsync(RunConfigHorizon);
            await Assertions.Expect(actual).ToHaveCountAsync(node.Actual.Count);
            await Assertions.Expect(chart.Locator("polyline.line.forecast")).ToHaveCountAsync(1);
            await Assertions.Expect(chart.Locator("line.origin")).ToHaveCountAsync(1);
            Assert.Equal(Enumerable.Range(1, RunConfigHorizon).Select(s => (double)s), await DataOf(predicted, "step"));
            Assert.Equal(node.Forecast.Select(p => p.Value), await DataOf(predicted, "value"));
            Assert.Equal(node.Actual.Select(p => p.Value), await DataOf(actual, "value"));
        }

        await page.Locator("#rmse-chart").ScrollIntoViewIfNeededAsync();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath("dashboard-forecast.png"), FullPage = true });
    }

    private static readonly int RunConfigHorizon = IcosFl.Contracts.RunConfig.Default.ForecastHorizon;

    [Fact]
    public async Task Should_show_each_rounds_timeline_with_the_apis_arrivals_and_training_times()
    {
        await using var browser = await LaunchAsync();
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 1400 } });
        var id = served.Report.FederationId;
        await page.GotoAsync(new Uri(served.Address, $"federations/{id}").ToString());
        await Assertions.Expect(page.Locator("#state")).ToHaveTextAsync("Completed");

        foreach (var round in new[] { ServedFederation.Rounds, 1 })
        {
            if (round != ServedFederation.Rounds)
                await page.Locator($"#timeline-rounds button[data-round='{round}']").ClickAsync();
            await Assertions.Expect(page.Locator($"#timeline-rounds button[data-round='{round}']")).ToHaveClassAsync("on");
            var timeline = await served.GetJsonAsync<Controller.Status.RoundTimeline>($"/api/federations/{id}/rounds/{round}/timeline");
            var rows = page.Locator("#timeline tbody tr");
            await Assertions.Expect(rows).ToHaveCountAsync(timeline.Workers.Count);
            foreach (var w in timeline.Workers)
            {
                var row = page.Locator($"#timeline tbody tr[data-worker='{w.WorkerId}']");
                await Assertions.Expect(row).ToHaveAttributeAsync("data-arrived", w.ArrivedAfterMs!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
                await Assertions.Expect(row.Locator("td.outcome")).ToContainTextAsync("counted");
                await Assertions.Expect(row.Locator("td.arrived")).ToHaveTextAsync($"{Math.Round(w.ArrivedAfterMs.Value).ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} ms");
                // Both parts of the bar drawn, the training one as wide as its share of the slowest arrival.
                await Assertions.Expect(row.Locator(".timeline-bar .training")).ToHaveCountAsync(1);
                await Assertions.Expect(row.Locator(".timeline-bar .wait")).ToHaveCountAsync(1);
            }
        }
        await page.Locator("#timeline").ScrollIntoViewIfNeededAsync();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath("dashboard-timeline.png"), FullPage = true });
    }

    private static Task<double[]> DataOf(ILocator dots, string name) =>
        dots.EvaluateAllAsync<double[]>($"dots => dots.map(d => Number(d.dataset.{name}))");

    [Fact]
    public async Task Should_list_the_federation_linking_to_its_page()
    {
        await using var browser = await LaunchAsync();
        var page = await browser.NewPageAsync();
        var id = served.Report.FederationId.ToString();

        await page.GotoAsync(served.Address.ToString());
        var link = page.Locator($"#federations a[href='/federations/{id}']");
        await Assertions.Expect(link).ToHaveTextAsync(id);
        await Assertions.Expect(page.Locator("#workers tbody tr.worker")).ToHaveCountAsync(ServedFederation.Workers);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath("dashboard-list.png"), FullPage = true });

        await link.ClickAsync();
        await Assertions.Expect(page.Locator("#state")).ToHaveTextAsync("Completed");
    }

    private static async Task<IBrowser> LaunchAsync()
    {
        if (!File.Exists(Chromium))
            Assert.Fail($"{Chromium} is missing: install Debian's chromium (apt-get install -y chromium; tests/run.sh does it)");
        var playwright = await Playwright.CreateAsync();
        return await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"],
        });
    }

    /// <summary>Screenshots go to this test project's TestResults folder (a CI artifact, ignored by git).</summary>
    private static string ScreenshotPath(string name)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "IcosFl.Dashboard.Tests.csproj")))
            directory = directory.Parent;
        var results = Path.Combine(directory?.FullName ?? AppContext.BaseDirectory, "TestResults");
        Directory.CreateDirectory(results);
        return Path.Combine(results, name);
    }
}
