using MassTransit;

namespace IcosFl.Controller.Sagas;

public sealed class RoundStateDefinition : SagaDefinition<RoundState>
{
    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpointConfigurator,
        ISagaConfigurator<RoundState> sagaConfigurator, IRegistrationContext context)
    {
        // Many workers answer one round at once: with optimistic concurrency most retries succeed
        // quickly; jittered exponential intervals keep them from colliding again.
        endpointConfigurator.UseMessageRetry(r => r.Exponential(30, TimeSpan.FromMilliseconds(5),
            TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(20)));
        endpointConfigurator.UseInMemoryOutbox(context);
    }
}
