using IcosFl.Infrastructure.Messaging;
using IcosFl.Infrastructure.Weights;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace IcosFl.Worker;

public static class WorkerRegistration
{
    /// <summary>The receive endpoint name of a worker (one queue per worker).</summary>
    public static string EndpointName(string workerId) => $"icosfl-worker-{workerId}";

    /// <summary>Binds one worker's consumers to its own receive endpoint.</summary>
    public static void ConfigureWorkerEndpoint(this IReceiveEndpointConfigurator endpoint, IRegistrationContext context, WorkerNode node)
    {
        if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            // Only the messages addressed to this worker reach its queue (routing key = worker id).
            rabbit.ConfigureConsumeTopology = false;
            rabbit.BindAddressedToWorker(node.WorkerId);
        }
        var transport = context.GetRequiredService<WeightTransport>();
        var loggers = context.GetRequiredService<ILoggerFactory>();
        endpoint.Consumer(() => new RoundStartedConsumer(node, transport, loggers.CreateLogger<RoundStartedConsumer>()));
        endpoint.Consumer(() => new EvaluationRequestedConsumer(node, transport, loggers.CreateLogger<EvaluationRequestedConsumer>()));
    }

    /// <summary>Heartbeats for the given workers.</summary>
    public static IServiceCollection AddIcosFlWorkers(this IServiceCollection services, IEnumerable<WorkerNode> nodes)
    {
        foreach (var node in nodes)
            services.AddSingleton(node);
        services.TryAddSingleton(TimeProvider.System);
        services.AddHostedService<HeartbeatService>();
        return services;
    }
}
