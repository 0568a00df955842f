using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using IcosFl.Integration.Tests.Servers;
using IcosFl.TestKit;
using Xunit.Abstractions;

namespace IcosFl.Integration.Tests.Deployed;

[Collection(ServersCollection.Name)]
public sealed class Running_a_deployed_round(TestServers servers, ITestOutputHelper output)
{
    [Fact]
    public async Task Should_deliver_round_starts_with_the_global_weights_only_to_the_selected_workers()
    {
        await using var fleet = await DeployedFleet.CreateAsync(servers, output);
        fleet.StartController();
        foreach (var w in new[] { "w1", "w2", "w3" })
            fleet.StartWorker(w, "--log-level", "Debug");
        await fleet.ReadyAsync("w1", "w2", "w3");
        // fraction-fit 0.5 of 3 = 1 < min-fit-clients 2: two of the three are selected.
        var id = Guid.Parse(await fleet.RunCliAsync("start", "--run-config",
            "num-server-rounds=1 fraction-fit=0.5 min-fit-clients=2 min-evaluate-clients=9 local-epochs=1"));

        var done = await fleet.WaitForAsync(id, s => s.State == "Completed", TimeSpan.FromMinutes(3), "completion");
        var selected = done.Rounds.Single(r => r.State == "Completed").Participants;
        Assert.Equal(2, selected.Count);
        var unselected = Assert.Single(new[] { "w1", "w2", "w3" }.Except(selected));

        foreach (var w in selected)
            Assert.Contains(Events(WorkerLog(fleet, w)), e =>
                e.GetProperty("@mt").GetString()!.StartsWith("{WorkerId} trained round", StringComparison.Ordinal)
                && e.GetProperty("WorkerId").GetString() == w);
        // The routing key kept the message away from the unselected worker: it never even saw it to ignore it.
        var log = WorkerLog(fleet, unselected);
        Assert.DoesNotContain("addressed to", log);
        Assert.DoesNotContain("trained round", log);
    }

    [Fact]
    public async Task Should_ship_log_events_to_seq_with_federation_round_and_worker_ids()
    {
        using var seq = new SeqStandIn();
        await using var fleet = await DeployedFleet.CreateAsync(servers, output);
        fleet.StartController("--seq", seq.Url);
        fleet.StartWorker("w1", "--seq", seq.Url);
        fleet.StartWorker("w2", "--seq", seq.Url);
        await fleet.ReadyAsync("w1", "w2");
        var id = Guid.Parse(await fleet.RunCliAsync("start", "--run-config", "num-server-rounds=1 local-epochs=1"));
        await fleet.WaitForAsync(id, s => s.State == "Completed", TimeSpan.FromMinutes(3), "completion");

        // The sinks batch (every 2 s), each process on its own clock: wait for w1's training event and for the
        // controller's event of w1's update in that trace (either may arrive a batch after the other).
        await Eventually.WithinAsync(() => TrainingOfW1WithTheControllersCount(seq.Events), TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(250));

        var ofFederation = seq.Events.Where(e => Has(e, "FederationId") && e.GetProperty("FederationId").ToString() == id.ToString()).ToList();
        Assert.NotEmpty(ofFederation);
        Assert.Contains(ofFederation, e => Has(e, "RoundId") && Has(e, "WorkerId"));
        Assert.Contains(ofFederation, e => e.GetProperty("Service").GetString() == "controller" && Has(e, "RoundId"));
        Assert.All(seq.Events, e => Assert.True(Has(e, "@t") && (Has(e, "@mt") || Has(e, "@m"))));

        // Trace context crosses the processes: the controller's count of w1's update carries the trace
        // id of w1's training, which continued the controller's round start.
        var trained = ofFederation.First(e => IsTrainingOf(e, "w1"));
        Assert.True(Has(trained, "@tr"), "the worker's event carries no trace id");
        var traceId = trained.GetProperty("@tr").GetString();
        Assert.Contains(seq.Events, e => IsControllerEventOfW1In(e, traceId));
    }

    private static bool TrainingOfW1WithTheControllersCount(IReadOnlyList<JsonElement> events) =>
        events.FirstOrDefault(e => IsTrainingOf(e, "w1") && Has(e, "@tr")) is { ValueKind: JsonValueKind.Object } trained
        && events.Any(e => IsControllerEventOfW1In(e, trained.GetProperty("@tr").GetString()));

    private static bool IsControllerEventOfW1In(JsonElement e, string? traceId) =>
        e.GetProperty("Service").GetString() == "controller" && Has(e, "@tr")
        && e.GetProperty("@tr").GetString() == traceId && Has(e, "WorkerId") && e.GetProperty("WorkerId").GetString() == "w1";

    private static IEnumerable<JsonElement> Events(string clef) =>
        clef.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    private static bool Has(JsonElement e, string name) => e.TryGetProperty(name, out _);

    private static bool IsTrainingOf(JsonElement e, string worker) =>
        Has(e, "@mt") && e.GetProperty("@mt").GetString()!.StartsWith("{WorkerId} trained round", StringComparison.Ordinal)
        && Has(e, "WorkerId") && e.GetProperty("WorkerId").GetString() == worker;

    private static string WorkerLog(DeployedFleet fleet, string worker) =>
        string.Concat(Directory.EnumerateFiles(fleet.LogDir, $"worker-{worker}-*.clef").Select(f =>
        {
            using var stream = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return new StreamReader(stream).ReadToEnd();
        }));

    /// <summary>An HTTP listener on loopback standing in for Seq's ingestion endpoint; keeps every CLEF event posted.</summary>
    private sealed class SeqStandIn : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly CancellationTokenSource _stop = new();

        public SeqStandIn()
        {
            var port = FreePort();
            Url = $"http://127.0.0.1:{port}/";
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _ = Task.Run(ServeAsync);
        }

        public string Url { get; }
        public ConcurrentQueue<JsonElement> EventsQueue { get; } = new();
        public IReadOnlyList<JsonElement> Events => EventsQueue.ToList();

        private async Task ServeAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                using (var reader = new StreamReader(context.Request.InputStream))
                {
                    var body = await reader.ReadToEndAsync();
                    // Serilog.Sinks.Seq posts CLEF (one JSON event a line) to Seq's raw-events endpoint.
                    var path = context.Request.Url!.AbsolutePath;
                    if (path.EndsWith("/api/events/raw", StringComparison.Ordinal) || path.EndsWith("/ingest/clef", StringComparison.Ordinal))
                        foreach (var line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                            EventsQueue.Enqueue(JsonDocument.Parse(line).RootElement.Clone());
                }
                context.Response.StatusCode = 201;
                context.Response.Close();
            }
        }

        private static int FreePort()
        {
            using var socket = new TcpListener(IPAddress.Loopback, 0);
            socket.Start();
            return ((IPEndPoint)socket.LocalEndpoint).Port;
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _listener.Close();
        }
    }
}
