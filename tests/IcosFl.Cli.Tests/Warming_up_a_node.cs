using IcosFl.Cli.Commands;

namespace IcosFl.Cli.Tests;

/// <summary>The warm-up a controller and a worker run once their bus is up (WarmUpService): the first round's one-off costs moved to start-up.</summary>
public sealed class Warming_up_a_node
{
    [Fact]
    public void Should_load_libtorch_and_run_training_evaluation_and_the_codec_once()
    {
        var elapsed = WarmUpService.Run(train: true);

        Assert.True(elapsed > 0, $"warm-up took {elapsed} ms");
        Assert.Contains(File.ReadLines("/proc/self/maps"), l => l.Contains("libtorch_cpu.so", StringComparison.Ordinal));
    }

    [Fact]
    public void Should_warm_up_a_controller_without_training()
    {
        Assert.True(WarmUpService.Run(train: false) > 0);
    }
}
