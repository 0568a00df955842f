using IcosFl.Cli.Logs;
using IcosFl.Infrastructure.Logging;
using Serilog.Events;

namespace IcosFl.Cli.Tests;

/// <summary>`icosfl logs ID`: the CLEF files that the processes' own loggers write, merged and filtered by federation.</summary>
public sealed class Reading_a_federations_logs : IDisposable
{
    private static readonly Guid Federation = Guid.Parse("7d0c2d4e-3b1a-4f7e-9a51-0c6e2d9b8f10");
    private static readonly Guid Other = Guid.Parse("00000000-3b1a-4f7e-9a51-0c6e2d9b8f10");
    private readonly string _directory = Directory.CreateTempSubdirectory("icosfl-logs-").FullName;

    private Serilog.Core.Logger Logger(string service) => IcosFlLogging.CreateLogger(new LoggingOptions
    {
        Service = service,
        ConsoleLevel = LogEventLevel.Fatal,
        ClefFile = Path.Combine(_directory, $"{service}-.clef"),
    });

    [Fact]
    public void Should_merge_the_processes_events_of_one_federation_in_time_order()
    {
        using (var controller = Logger("controller"))
        using (var worker = Logger("worker"))
        {
            controller.Information("Federation {FederationId} opens round {Round}", Federation, 1);
            worker.ForContext("FederationId", Federation).Information("{WorkerId} trained round {Round}: loss {Loss}", "edge-1", 1, 0.25);
            controller.Information("Federation {FederationId} opens round {Round}", Other, 1);
            controller.Warning("Federation {FederationId} round {Round}: update from {WorkerId} ignored ({Reason})", Federation, 1, "edge-9", "not selected");
        }

        var events = new FederationLog(_directory, Federation).ReadNew();

        Assert.Equal(
        [
            $"Federation {Federation} opens round 1",
            "edge-1 trained round 1: loss 0.25",
            $"Federation {Federation} round 1: update from edge-9 ignored (not selected)",
        ], events.Select(e => e.Message));
        Assert.Equal(["controller", "worker", "controller"], events.Select(e => e.Service));
        Assert.Equal(["Information", "Information", "Warning"], events.Select(e => e.Level));
    }

    [Fact]
    public void Should_return_only_what_was_appended_since_and_wait_for_a_line_being_written()
    {
        var file = Path.Combine(_directory, "controller-20261128.clef");
        File.WriteAllText(file, Line("2026-11-28T03:40:01Z", "first") + "\n");
        var log = new FederationLog(_directory, Federation);
        Assert.Equal(["first"], log.ReadNew().Select(e => e.Message));

        var second = Line("2026-11-28T03:40:02Z", "second");
        File.AppendAllText(file, second[..20]);
        Assert.Empty(log.ReadNew());

        File.AppendAllText(file, second[20..] + "\n");
        Assert.Equal(["second"], log.ReadNew().Select(e => e.Message));
        Assert.Empty(log.ReadNew());
    }

    [Fact]
    public void Should_format_an_event_on_one_line_in_utc()
    {
        var e = ClefEvent.Parse(
            $$$"""{"@t":"2026-11-28T04:40:01.1234567+01:00","@mt":"Round {Round} of {FederationId} {{literal}} {@Config} {Missing}","@l":"Warning","Round":2,"FederationId":"{{{Federation}}}","Config":{"Rounds":3},"Service":"controller"}""")!;

        Assert.Equal($"2026-11-28 03:40:01.123 WRN controller Round 2 of {Federation} {{literal}} {{\"Rounds\":3}} {{Missing}}", e.Format());
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("{\"@mt\":\"no timestamp\"}")]
    [InlineData("[1,2]")]
    public void Should_skip_what_is_not_a_clef_event(string line) => Assert.Null(ClefEvent.Parse(line));

    private static string Line(string time, string message) =>
        $$"""{"@t":"{{time}}","@mt":"{{message}}","FederationId":"{{Federation}}","Service":"controller"}""";

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
