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
