using MassTransit;

namespace IcosFl.Controller.Sagas;

public sealed class FederationStateDefinition : SagaDefinition<FederationState>
{
    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpointConfigurator,
        ISagaConfigurator<FederationState> sagaConfigurator, IRegistrationContext context)
    {
        // Concurrency conflicts (the Redis repository is optimistic) are retried on fresh state.
        endpointConfigurator.UseMessageRetry(r => r.Intervals(10, 50, 100, 250, 500, 1000, 2000));
        // Publishes leave only after the saga's new state is stored.
        endpointConfigurator.UseInMemoryOutbox(context);
    }
}
