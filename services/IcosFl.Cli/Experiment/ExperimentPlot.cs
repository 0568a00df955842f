using ScottPlot;

namespace IcosFl.Cli.Experiment;

/// <summary>
/// The experiment's picture (ScottPlot): one row per worker, three panels each: (1) the held-out actual values with
/// the federated one-step forecast; (2) the held-out actual values with the federated full-horizon forecasts from a few
/// origins; (3) every model's RMSE at each step 1..forecast-horizon. One PNG of <see cref="Width"/> x <see cref="HeightFor"/>.
/// </summary>
public static class ExperimentPlot
{
    public const int Width = 1200;
    public const int RowHeight = 280;

    public static int HeightFor(int workers) => RowHeight * Math.Max(1, workers);

    private static readonly Dictionary<string, Color> ModelColors = new()
    {
        [QualityExperiment.Federated] = Color.FromHex("#1f77b4"),
        [QualityExperiment.Personalized] = Color.FromHex("#17becf"),
        [QualityExperiment.Local] = Color.FromHex("#ff7f0e"),
        [QualityExperiment.Centralized] = Color.FromHex("#2ca02c"),
        [QualityExperiment.LinearAr] = Color.FromHex("#9467bd"),
        [QualityExperiment.Persistence] = Color.FromHex("#7f7f7f"),
        [QualityExperiment.SeasonalNaive] = Color.FromHex("#8c564b"),
    };

    private static readonly Color ActualColor = Color.FromHex("#222222");
    private static readonly Color ForecastColor = Color.FromHex("#d62728");

    /// <summary>Writes the picture of <paramref name="report"/> to <paramref name="path"/> (a .png file whose folder exists).</summary>
    public static void Save(ExperimentReport report, string metric, string path)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (report.Curves.Count == 0)
            throw new ArgumentException("The report holds no per-worker curves to draw.", nameof(report));
        var multiplot = new Multiplot();
        int rows = report.Curves.Count;
        multiplot.AddPlots(rows * 3);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, 3);
        for (int r = 0; r < rows; r++)
        {
            var curves = report.Curves[r];
            OneStep(multiplot.GetPlot(r * 3), curves, metric);
            Horizon(multiplot.GetPlot(r * 3 + 1), curves, metric);
            ErrorByStep(multiplot.GetPlot(r * 3 + 2), curves, metric);
        }

        multiplot.SavePng(path, Width, HeightFor(rows));
    }

    private static void OneStep(Plot plot, WorkerCurves curves, string metric)
    {
        int n = curves.OneStep.Count;
        var xs = Enumerable.Range(curves.FirstOrigin + 1, n).Select(i => (double)i).ToArray();
        Line(plot, xs, xs.Select(x => (double)curves.Actual[(int)x]).ToArray(), ActualColor, "actual", 1.5f);
        Line(plot, xs, curves.OneStep.ToArray(), ForecastColor, "federated, 1 step ahead", 1f);
        plot.Title($"{curves.Worker}: held-out, one step ahead", size: 13);
        plot.XLabel("sample (3 s)", size: 11);
        plot.YLabel(metric, size: 11);
        plot.ShowLegend(Alignment.UpperLeft);
        plot.Legend.FontSize = 10;
    }

    private static void Horizon(Plot plot, WorkerCurves curves, string metric)
    {
        int first = curves.FirstOrigin + 1, last = curves.FirstOrigin + curves.OneStep.Count + curves.HorizonForecasts[0].Count;
        var xs = Enumerable.Range(first, last - first).Select(i => (double)i).ToArray();
        Line(plot, xs, xs.Select(x => (double)curves.Actual[(int)x]).ToArray(), ActualColor, "actual", 1.5f);
        for (int k = 0; k < curves.HorizonOrigins.Count; k++)
        {
            var forecast = curves.HorizonForecasts[k];
            var fx = Enumerable.Range(curves.HorizonOrigins[k] + 1, forecast.Count).Select(i => (double)i).ToArray();
            Line(plot, fx, forecast.ToArray(), ForecastColor, k == 0 ? $"federated, {forecast.Count} steps from an origin" : null, 2f);
        }

        plot.Title($"{curves.Worker}: held-out, full horizon", size: 13);
        plot.XLabel("sample (3 s)", size: 11);
        plot.YLabel(metric, size: 11);
        plot.ShowLegend(Alignment.UpperLeft);
        plot.Legend.FontSize = 10;
    }

    private static void ErrorByStep(Plot plot, WorkerCurves curves, string metric)
    {
        // Federated last, on top (federated+personalized equals it on workers that kept the global model).
        foreach (var (model, rmse) in curves.RmseByStep.OrderBy(c => c.Key == QualityExperiment.Federated))
        {
            var xs = Enumerable.Range(1, rmse.Length).Select(h => (double)h).ToArray();
            Line(plot, xs, rmse, ModelColors.GetValueOrDefault(model, Colors.Black), model, model == QualityExperiment.Federated ? 2f : 1.2f);
        }

        plot.Title($"{curves.Worker}: RMSE per step ahead", size: 13);
        plot.XLabel("steps ahead (3 s each)", size: 11);
        plot.YLabel($"RMSE ({metric})", size: 11);
        plot.ShowLegend(Alignment.UpperLeft);
        plot.Legend.FontSize = 10;
    }

    private static void Line(Plot plot, double[] xs, double[] ys, Color color, string? legend, float width)
    {
        var line = plot.Add.ScatterLine(xs, ys, color);
        line.LineWidth = width;
        if (legend is not null)
            line.LegendText = legend;
    }
}
