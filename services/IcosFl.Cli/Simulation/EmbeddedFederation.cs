using System.Diagnostics;
using IcosFl.Contracts;
using IcosFl.Controller;
using IcosFl.Controller.Checkpoints;
using IcosFl.Controller.Workers;
using IcosFl.Dashboard;
using IcosFl.Infrastructure.Hosting;
using IcosFl.Infrastructure.Logging;
using IcosFl.Infrastructure.Weights;
using IcosFl.Learning;
using IcosFl.Learning.NodeData;
using IcosFl.Worker;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IcosFl.Cli.Simulation;

/// <summary>
/// The embedded mode: the controller and N workers in one process on MassTransit's in-memory
/// transport, with in-memory saga state and synthetic per-worker data. The same sagas, consumers and
/// learning code as the deployed mode; only the transport, repositories and data source differ.
/// </summary>
public static class EmbeddedFederation
{
    /// <param name="afterRun">
    /// Called with the report while the host still runs (the dashboard keeps serving until it returns).
    /// </param>
    public static async Task<SimulationReport> RunAsync(SimulationOptions options, TextWriter progress, CancellationToken cancellationToken,
        Func<SimulationReport, IServiceProvider, CancellationToken, Task>? afterRun = null)
    {
        var config = options.RunConfig;
        var federationId = NewId.NextGuid();
        var observer = new FederationObserver(federationId, config.NumServerRounds, progress);
        using var host = Build(options, observer);
        var stopwatch = Stopwatch.StartNew();

        progress.WriteLine(
            $"simulating federation {federationId}: {options.Workers} workers with " +
            (options.Data is { } data
                ? $"{config.Metric} data from {data.Directory} ({string.Join(", ", data.Workers.Select(w => $"{w.Node} {w.Values(config.Metric).Length}"))} points; " +
                  $"controller: {(data.Controller is { } c ? $"{c.FileName}, {c.Values(config.Metric).Length} points" : "synthetic")})"
                : $"synthetic {config.Metric} data ({options.Points} points each)") +
            $", {config.NumServerRounds} rounds of {config.Strategy}" +
            (options.ResumeFrom is { } from ? $", resuming {from}" : "") +
            (options.Adversaries.Count == 0
                ? ""
                : "; adversaries: " + string.Join(", ", options.AdversariesInWorkerOrder.Select(a => $"{a.Key} {a.Value}"))));
        await host.StartAsync(cancellationToken);
        try
        {
            await DashboardAnnouncement.WriteAsync(host.Services, progress, federationId);
            await AllWorkersAnnouncedAsync(host.Services, options.WorkerIds, cancellationToken);
            var bus = host.Services.GetRequiredService<IBus>();
            await bus.Publish(new StartFederation
            {
                FederationId = federationId, RunConfig = config, RequestedBy = "simulate", ResumeFrom = options.ResumeFrom,
            }, cancellationToken);
            var (state, reason) = await observer.Ended.WaitAsync(cancellationToken);
            if (reason is not null)
                progress.WriteLine($"federation {state.ToLowerInvariant()}: {reason}");
            var rounds = observer.Rounds;
            var last = rounds.LastOrDefault()?.CentralizedEval;
            var report = new SimulationReport
            {
                FederationId = federationId,
                Metric = config.Metric,
                Data = options.Data?.Directory ?? "synthetic",
                Workers = options.Workers,
                Strategy = config.Strategy,
                Adversaries = options.AdversariesInWorkerOrder.ToDictionary(a => a.Key, a => a.Value.ToString()),
                State = state,
                Reason = reason,
                Rounds = rounds.Select(r => new SimulatedRound(r.Round, r.Participants.Count, r.TrainLoss, r.EvalLoss,
                    r.CentralizedEval?.Rmse, r.DurationMs, r.Rejected)).ToList(),
                Final = last is null ? null : new FinalEvaluation(last.Mse, last.Rmse, last.Mae, last.PersistenceRmse,
                    LinearArOnControllerData(host.Services.GetRequiredService<INodeDataSource>(), config)),
                DurationMs = stopwatch.Elapsed.TotalMilliseconds,
            };
            if (report.Final is { } final)
                progress.WriteLine(final.Describe(config.Metric));
            if (afterRun is not null)
                await afterRun(report, host.Services, cancellationToken);
            return report;
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// The one-step RMSE of a least-squares AR(time-step) fitted on the training part of the controller's forecast metric, on
    /// the windows the controller's evaluation scores (<see cref="LocalTraining.Evaluate(ModelWeights, FeatureSeries, RunConfig)"/>:
    /// every test window, origins from train + time-step - 1 to the last but one point); null where it cannot be fitted.
    /// </summary>
    private static double? LinearArOnControllerData(INodeDataSource data, RunConfig config)
    {
        if (!FeatureSeries.TryRead(data, config, out var features, out _))
            return null;
        var values = features.Target.ToArray();
        int train = ChronologicalSplit.TrainCount(values.Length, config.TrainTestSplit), first = train + config.TimeStep - 1;
        if (train < 2 * config.TimeStep + 1 || first > values.Length - 2)
            return null;
        var ar = Experiment.LinearAutoregression.Fit(values[..train], config.TimeStep);
        double squared = 0;
        for (int origin = first; origin <= values.Length - 2; origin++)
        {
            double error = ar.Predict(values, origin) - values[origin + 1];
            squared += error * error;
        }

        return Math.Sqrt(squared / (values.Length - 1 - first));
    }

    /// <summary>
    /// Waits until every simulated worker's first heartbeat is in the registry. The quorum alone starts a federation
    /// as soon as min-available-clients workers are alive, so on a busy machine round 1 could sample from only some
    /// of the simulation's own workers.
    /// </summary>
    private static async Task AllWorkersAnnouncedAsync(IServiceProvider services, IReadOnlyList<string> workerIds, CancellationToken cancellationToken)
    {
        var registry = services.GetRequiredService<IWorkerRegistry>();
        var patience = services.GetRequiredService<ControllerOptions>().HeartbeatPatience;
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var alive = (await registry.AliveAsync(DateTimeOffset.UtcNow, patience, cancellationToken)).ToHashSet();
            var missing = workerIds.Where(w => !alive.Contains(w)).ToList();
            if (missing.Count == 0)
                return;
            if (waited.Elapsed > TimeSpan.FromSeconds(60))
                throw new InvalidOperationException(
                    $"the simulated workers {string.Join(", ", missing)} sent no heartbeat within 60 s of starting; the process may be starved of CPU");
            await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
        }
    }

    private static IHost Build(SimulationOptions options, FederationObserver observer)
    {
        var config = options.RunConfig;
        var builder = Host.CreateApplicationBuilder();
        builder.AddIcosFlLogging(new LoggingOptions
        {
            Service = "simulate",
            ConsoleLevel = options.LogLevel,
            MinimumLevel = options.LogLevel,
            SeqUrl = Environment.GetEnvironmentVariable("ICOSFL_SEQ_URL"),
        });

        // Synthetic: node 0 is the controller's own node (its centralized evaluation), workers are nodes 1..N.
        // With --data: each worker's file, and the controller's file when there is one.
        var workers = options.WorkerIds
            .Select((id, i) => new WorkerNode(
                new WorkerOptions { WorkerId = id, Host = "simulated", HeartbeatInterval = options.HeartbeatInterval },
                options.Data is { } data ? data.Workers[i].ToStore(id) : new SyntheticNodeData(i + 1, options.Points, config.Seed),
                options.Adversaries.GetValueOrDefault(id) is { } adversary ? adversary.Apply : null))
            .ToList();
        builder.Services.AddSingleton<INodeDataSource>(options.Data?.Controller is { } own
            ? own.ToStore(SimulationData.ControllerNode)
            : new SyntheticNodeData(0, options.Points, config.Seed));
        builder.Services.AddIcosFlWeightTransport(new InMemoryClaimCheckStore());
        if (options.CheckpointDirectory is { } checkpointDirectory)
            builder.Services.AddSingleton<ICheckpointStore>(new FileCheckpointStore(checkpointDirectory));
        builder.Services.AddIcosFlControllerServices(new ControllerOptions
        {
            NodeName = SimulationData.ControllerNode,
            // In process and on the in-memory transport: no broker, no users; the simulated workers are trusted.
            WorkerAuthentication = WorkerAuthentication.InProcessTrusted,
            QuorumPollInterval = TimeSpan.FromMilliseconds(250),
            LivenessCheckInterval = TimeSpan.FromSeconds(options.HeartbeatInterval),
        });
        builder.Services.AddIcosFlWorkers(workers);
        if (options.Http is { } listen)
        {
            builder.Services.AddIcosFlDashboard(Commands.HttpOption.OptionsFor(listen, "embedded", Environment.GetEnvironmentVariable("ICOSFL_SEQ_URL")));
            // Every node is in this process, so its page can forecast the workers' data too, not only the controller's.
            builder.Services.AddSingleton<IHeldNodeData>(new SimulatedWorkersData(workers));
        }

        // One in-memory bus carries the controller's sagas and consumers and every worker's endpoint.
        builder.Services.AddIcosFlBus(IcosFlTransport.InMemory,
            x =>
            {
                x.SetInMemorySagaRepositoryProvider();
                x.AddDelayedMessageScheduler();
                x.AddIcosFlController();
            },
            (context, cfg) =>
            {
                cfg.UseDelayedMessageScheduler();
                cfg.UseIcosFlWorkerIdentity(context);
                foreach (var node in workers)
                    cfg.ReceiveEndpoint(WorkerRegistration.EndpointName(node.WorkerId), e => e.ConfigureWorkerEndpoint(context, node));
                cfg.ReceiveEndpoint("icosfl-simulation-observer", e => e.Consumer(() => observer));
            });
        return builder.Build();
    }
}
