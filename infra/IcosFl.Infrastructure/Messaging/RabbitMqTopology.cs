using IcosFl.Contracts;
using MassTransit;
using RabbitMQ.Client;

namespace IcosFl.Infrastructure.Messaging;

/// <summary>
/// IcosFl's exchanges on RabbitMQ. Every message type has its own exchange (MassTransit's default),
/// so round-start, weight-update and heartbeat traffic are separate and visible in the management UI.
/// Round-start and evaluation requests carry global weights to one worker each: their exchanges are
/// direct, routed by the addressee's worker id, so a worker that was not selected never receives them.
/// Weight-carrying messages go as binary envelopes (<see cref="WeightsWire"/>, <see cref="WeightsWire.EnvironmentVariable"/>).
/// </summary>
public static class RabbitMqTopology
{
    public static void UseIcosFlTopology(this IRabbitMqBusFactoryConfigurator cfg)
    {
        cfg.UseIcosFlWeightsWire(WeightsWire.FromEnvironment());
        cfg.Publish<RoundStarted>(p => p.ExchangeType = ExchangeType.Direct);
        cfg.Send<RoundStarted>(s => s.UseRoutingKeyFormatter(ctx => ctx.Message.WorkerId));
        cfg.Publish<EvaluationRequested>(p => p.ExchangeType = ExchangeType.Direct);
        cfg.Send<EvaluationRequested>(s => s.UseRoutingKeyFormatter(ctx => ctx.Message.WorkerId));
    }

    /// <summary>Binds a worker's queue to the addressed exchanges with its own id as routing key.</summary>
    public static void BindAddressedToWorker(this IRabbitMqReceiveEndpointConfigurator endpoint, string workerId)
    {
        endpoint.Bind<RoundStarted>(b =>
        {
            b.ExchangeType = ExchangeType.Direct;
            b.RoutingKey = workerId;
        });
        endpoint.Bind<EvaluationRequested>(b =>
        {
            b.ExchangeType = ExchangeType.Direct;
            b.RoutingKey = workerId;
        });
    }
}
