using IcosFl.Contracts;
using IcosFl.Infrastructure.Weights;
using IcosFl.Learning;
using IcosFl.Learning.NodeData;
using IcosFl.Worker;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace IcosFl.Worker.Tests;

// Metrics here are the contract's names, not the namespace IcosFl.Worker.Metrics that this namespace sees first.
using Metrics = IcosFl.Contracts.Metrics;

/// <summary>A worker's real consumers given a model that reads input metrics beside the forecast one.</summary>
public sealed class Training_with_input_metrics
{
    private static readonly RunConfig WithPower = RunConfig.Default with
    {
        InputMetrics = "memory_usage,power_consumption", TimeStep = 3, LocalEpochs = 1, ForecastHorizon = 5, // 40 points: 20 for the windows, 5 for the horizon
    };

    [Fact]
    public async Task Should_decline_a_round_naming_the_input_metric_the_node_lacks()
    {
        await using var provider = Services(NodeWithoutPower());
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        var transport = provider.GetRequiredService<WeightTransport>();
        var round = Guid.NewGuid();

        await harness.Bus.Publish(new RoundStarted
        {
            FederationId = Guid.NewGuid(), RoundId = round, Round = 1, WorkerId = "edge-1",
            GlobalWeights = await transport.PackAsync(LocalTraining.InitialWeights(WithPower), "test:global"),
            RunConfig = WithPower, Deadline = DateTimeOffset.UtcNow.AddMinutes(1),
        });

        Assert.True(await harness.Published.Any<TrainingDeclined>(m => m.Context.Message.RoundId == round));
        var declined = harness.Published.Select<TrainingDeclined>().Single().Context.Message;
        Assert.Equal("input metric power_consumption (input-metrics) is not available on this node: no Intel RAPL on this machine", declined.Reason);
        Assert.False(await harness.Published.Any<WeightUpdateSubmitted>());
    }

    [Fact]
    public async Task Should_train_and_evaluate_when_the_node_has_every_input_metric()
    {
        await using var provider = Services(NodeWithoutPower());
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        var transport = provider.GetRequiredService<WeightTransport>();
        var config = WithPower with { InputMetrics = Metrics.MemoryUsage };
        var global = await transport.PackAsync(LocalTraining.InitialWeights(config), "test:global");

        await harness.Bus.Publish(new RoundStarted
        {
            FederationId = Guid.NewGuid(), RoundId = Guid.NewGuid(), Round = 1, WorkerId = "edge-1",
            GlobalWeights = global, RunConfig = config, Deadline = DateTimeOffset.UtcNow.AddMinutes(1),
        });
        await harness.Bus.Publish(new EvaluationRequested
        {
            FederationId = Guid.NewGuid(), RoundId = Guid.NewGuid(), Round = 1, WorkerId = "edge-1",
            GlobalWeights = global, RunConfig = config, Deadline = DateTimeOffset.UtcNow.AddMinutes(1),
        });

        Assert.True(await harness.Published.Any<WeightUpdateSubmitted>());
        Assert.True(await harness.Published.Any<EvaluationReported>());
        var submitted = harness.Published.Select<WeightUpdateSubmitted>().Single().Context.Message;
        var evaluated = harness.Published.Select<EvaluationReported>().Single().Context.Message;
        Assert.Equal(32 - 3, submitted.NumExamples); // 40 aligned points, 32 for training, windows of 3
        Assert.Null(evaluated.DeclinedReason);
        Assert.Equal(8 - 3, evaluated.Metrics!.NumExamples);
        Assert.Equal([40, 2], (await transport.UnpackAsync(submitted.Weights))["lstm.weight_ih_l0"]!.Shape.AsEnumerable());
    }

    /// <summary>40 scrapes of cpu and memory at 3 s, plus one of cpu alone that the alignment drops; no RAPL.</summary>
    private static InMemoryNodeStore NodeWithoutPower()
    {
        var store = new InMemoryNodeStore("edge-1");
        var start = DateTimeOffset.FromUnixTimeSeconds(1_795_860_000);
        var samples = Enumerable.Range(0, 40).SelectMany(i => new[]
        {
            new MetricSample(Metrics.CpuUsage, start.AddSeconds(3 * i), 1 + Math.Sin(i / 4.0)),
            new MetricSample(Metrics.MemoryUsage, start.AddSeconds(3 * i), 2000 + 10 * i),
        }).Append(new MetricSample(Metrics.CpuUsage, start.AddSeconds(1), 9)).ToList();
        store.Append(samples);
        store.MarkUnavailable(Metrics.PowerConsumption, "no Intel RAPL on this machine");
        return store;
    }

    private static ServiceProvider Services(INodeDataSource data) =>
        new ServiceCollection()
            .AddSingleton(new WorkerNode(new WorkerOptions { WorkerId = "edge-1" }, data))
            .AddSingleton<IClaimCheckStore, InMemoryClaimCheckStore>()
            .AddSingleton(new WeightTransportOptions())
            .AddSingleton<WeightTransport>()
            .AddMassTransitTestHarness(x =>
            {
                x.AddConsumer<RoundStartedConsumer>();
                x.AddConsumer<EvaluationRequestedConsumer>();
            })
            .BuildServiceProvider(true);
}
