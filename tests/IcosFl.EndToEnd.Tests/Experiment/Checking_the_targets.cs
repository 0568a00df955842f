using IcosFl.Cli.Experiment;

namespace IcosFl.EndToEnd.Tests.Experiment;

/// <summary>The six targets as the experiment computes them from per-worker figures (given here, so each ratio is known).</summary>
public sealed class Checking_the_targets
{
    private static WorkerRows Worker(string name, bool personalizedBetter, double fed1 = 1.0, double fed100 = 2.0, double? seasonal100 = null)
    {
        var rows = new List<ExperimentRow>
        {
            new(QualityExperiment.Federated, 1, fed1, 0),
            new(QualityExperiment.Personalized, 1, personalizedBetter ? fed1 - 0.01 : fed1 + 0.01, 0),
            new(QualityExperiment.Local, 1, 1.2, 0),
            new(QualityExperiment.Centralized, 1, 1.0, 0),
            new(QualityExperiment.LinearAr, 1, 1.0, 0),
            new(QualityExperiment.Persistence, 1, 1.5, 0),
            new(QualityExperiment.Federated, 100, fed100, 0),
            new(QualityExperiment.Personalized, 100, personalizedBetter ? fed100 : fed100 + 0.01, 0),
            new(QualityExperiment.Local, 100, 2.5, 0),
            new(QualityExperiment.Centralized, 100, 2.0, 0),
            new(QualityExperiment.LinearAr, 100, 2.4, 0),
            new(QualityExperiment.Persistence, 100, 2.5, 0),
        };
        if (seasonal100 is { } s)
            rows.Add(new(QualityExperiment.SeasonalNaive, 100, s, 0));
        return new WorkerRows(name, 1000, seasonal100 is null ? null : 20, rows, new PersonalizationChoice(personalizedBetter, null, null, null, null, ""));
    }

    [Fact]
    public void Should_compute_each_ratio_from_the_averages_and_compare_it_with_its_limit()
    {
        var workers = new[] { Worker("a", true, fed1: 0.9), Worker("b", true, fed1: 1.05), Worker("c", true), Worker("d", false) };

        var targets = QualityExperiment.Targets(workers, 100);

        Assert.Equal(6, targets.Count);
        Assert.Equal(0.9875, targets[0].Value, 10); // served / linear-ar: (0.9 + 1.05 + 1 + 1) / 4 over 1
        Assert.True(targets[0].Met);
        Assert.Equal(0.9875, targets[1].Value, 10);
        Assert.Equal(0.9875 / 1.2, targets[2].Value, 10);
        Assert.Equal(0.8, targets[3].Value, 10); // 2.0 against persistence 2.5 (no season anywhere)
        Assert.True(targets[3].Met);
        Assert.Equal(1.0, targets[4].Value, 10);
        Assert.Equal(0.75, targets[5].Value, 10); // 3 of 4
        Assert.Contains("3 of 4", targets[5].Name);
        Assert.All(targets, t => Assert.True(t.Met, t.Name));
    }

    [Fact]
    public void Should_take_the_better_naive_forecast_per_worker_and_miss_where_the_model_is_not_ten_percent_below_it()
    {
        // Seasonal naive beats persistence (2.5) on workers a and b only; c's season (3.0) is worse than persistence.
        WorkerRows[] Fleet(double seasonal) =>
            [Worker("a", true, seasonal100: seasonal), Worker("b", true, seasonal100: seasonal), Worker("c", true, seasonal100: 3.0), Worker("d", true)];

        var met = QualityExperiment.Targets(Fleet(2.1), 100)[3]; // better baselines average (2.1 + 2.1 + 2.5 + 2.5) / 4 = 2.3
        var missed = QualityExperiment.Targets(Fleet(1.9), 100)[3]; // (1.9 + 1.9 + 2.5 + 2.5) / 4 = 2.2

        Assert.Equal(2.0 / 2.3, met.Value, 10);
        Assert.True(met.Met);
        Assert.Equal(2.0 / 2.2, missed.Value, 10);
        Assert.False(missed.Met);
    }

    [Fact]
    public void Should_miss_the_personalization_target_on_two_of_four_and_a_ratio_over_its_limit()
    {
        var workers = new[] { Worker("a", true, fed1: 1.2), Worker("b", true, fed1: 1.2), Worker("c", false, fed1: 1.2), Worker("d", false, fed1: 1.2) };

        var targets = QualityExperiment.Targets(workers, 100);

        Assert.False(targets[0].Met); // 1.2 x linear-ar
        Assert.False(targets[1].Met); // 1.2 x centralized
        Assert.False(targets[2].Met); // 1.2 is not below local-only's 1.2
        Assert.Equal(0.5, targets[5].Value, 10);
        Assert.False(targets[5].Met);
    }
}
