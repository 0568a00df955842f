using IcosFl.Cli;
using IcosFl.Integration.Tests.Servers;
using Xunit.Abstractions;

namespace IcosFl.Integration.Tests.Deployed;

/// <summary>
/// The CLI's publishing commands (start, stop) on their short-lived bus (IcosFlBus.StartPublishingBusAsync), against
/// the real broker: a publish nobody can receive is refused, not lost.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class Publishing_from_the_command_line(TestServers servers, ITestOutputHelper output)
{
    [Fact]
    public async Task Should_refuse_a_start_when_no_controller_ever_ran_on_the_vhost()
    {
        await using var fleet = await DeployedFleet.CreateAsync(servers, output);

        var (exit, stdout, stderr) = await fleet.RunCliAsync(new Dictionary<string, string>(), "start", "--run-config", "num-server-rounds=1");

        Assert.Equal(ExitCodes.Unreachable, exit);
        Assert.Equal("", stdout);
        Assert.Contains("icosfl start: nobody listens for StartFederation on ", stderr);
        Assert.Contains(": start the controller (icosfl controller) on this broker and vhost first", stderr);
    }
}
