using System.Net.Http.Json;
using System.Text.Json;
using IcosFl.Cli.Simulation;
using IcosFl.Contracts;
using IcosFl.Dashboard;
using Microsoft.Extensions.DependencyInjection;

namespace IcosFl.Dashboard.Tests;

/// <summary>
/// One embedded federation (the real `icosfl simulate` code path: in-memory transport and sagas, two
/// workers training for real), run to completion once for all dashboard tests, with its dashboard on a
/// free loopback port; it keeps serving until the tests are done, as `simulate --http` does.
/// </summary>
public sealed class ServedFederation : IAsyncLifetime
{
    public const int Workers = 2;
    public const int Rounds = 3;
    public const int Points = 600;

    private readonly TaskCompletionSource<(SimulationReport Report, IServiceProvider Services)> _served =
        new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task<SimulationReport>? _run;

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public SimulationReport Report { get; private set; } = null!;
    public IServiceProvider Services { get; private set; } = null!;
    public Uri Address { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;

    /// <summary>A Seq that refuses connections at once: the pages must link to it; the log sink gives up quietly.</summary>
    public const string SeqUrl = "http://127.0.0.1:1";

    private string? _seqBefore;

    public async Task InitializeAsync()
    {
        _seqBefore = Environment.GetEnvironmentVariable("ICOSFL_SEQ_URL");
        Environment.SetEnvironmentVariable("ICOSFL_SEQ_URL", SeqUrl);
        var options = new SimulationOptions
        {
            Workers = Workers,
            Points = Points,
            RunConfig = RunConfigParser.Parse($"num-server-rounds={Rounds} local-epochs=1", RunConfig.Default),
            Http = DashboardEndpoint.Parse("127.0.0.1:0"),
            HeartbeatInterval = 1,
        };
        _run = EmbeddedFederation.RunAsync(options, TextWriter.Null, CancellationToken.None, async (report, services, _) =>
        {
            _served.TrySetResult((report, services));
            await _release.Task;
        });
        // If the run throws before serving, say so instead of waiting forever.
        var first = await Task.WhenAny(_served.Task, _run);
        if (first == _run)
            await _run;
        (Report, Services) = await _served.Task.WaitAsync(TimeSpan.FromMinutes(3));
        Address = await Services.GetRequiredService<DashboardServer>().Address;
        Http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task<T> GetJsonAsync<T>(string path) =>
        await Http.GetFromJsonAsync<T>(path, Json) ?? throw new InvalidOperationException($"{path} answered JSON null");

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        _release.TrySetResult();
        if (_run is not null)
            await _run;
        Environment.SetEnvironmentVariable("ICOSFL_SEQ_URL", _seqBefore);
    }
}

[CollectionDefinition(Name)]
public sealed class ServedFederationCollection : ICollectionFixture<ServedFederation>
{
    // One federation for every class: the metrics of one host are shared, so these tests run one at a time.
    public const string Name = "served federation";
}
