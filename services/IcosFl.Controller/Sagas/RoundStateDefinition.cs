using IcosFl.Contracts;
using IcosFl.Controller.Messages;
using MassTransit;

namespace IcosFl.Controller.Sagas;

public sealed class RoundStateDefinition : SagaDefinition<RoundState>
{
    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpointConfigurator,
        ISagaConfigurator<RoundState> sagaConfigurator, IRegistrationContext context)
    {
        // Workers' answers go to the round's ledger, not here: a round saga sees a handful of messages.
        // Within this process, messages of one round take turns (a partition per RoundId), so they do
        // not race for the same saga version; several controllers, or a restart, still meet optimistic
        // concurrency, retried with jitter.
        endpointConfigurator.UseMessageRetry(r => r.Exponential(30, TimeSpan.FromMilliseconds(5),
            TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(20)));
        // A round opens by asking N workers: the outbox sends those N messages concurrently, each waiting
        // for its own publisher confirm, instead of N confirms one after the other. Their order never mattered.
        endpointConfigurator.UseInMemoryOutbox(context, o => o.ConcurrentMessageDelivery = true);
        var partition = endpointConfigurator.CreatePartitioner(Environment.ProcessorCount * 4);
        sagaConfigurator.Message<RoundOpened>(m => m.UsePartitioner(partition, c => c.Message.RoundId));
        sagaConfigurator.Message<RoundCollected>(m => m.UsePartitioner(partition, c => c.Message.RoundId));
        sagaConfigurator.Message<RoundEvaluated>(m => m.UsePartitioner(partition, c => c.Message.RoundId));
        sagaConfigurator.Message<RoundAggregated>(m => m.UsePartitioner(partition, c => c.Message.RoundId));
        sagaConfigurator.Message<RoundAggregationFailed>(m => m.UsePartitioner(partition, c => c.Message.RoundId));
        sagaConfigurator.Message<RoundDeadlineReached>(m => m.UsePartitioner(partition, c => c.Message.RoundId));
        sagaConfigurator.Message<EvaluationDeadlineReached>(m => m.UsePartitioner(partition, c => c.Message.RoundId));
        sagaConfigurator.Message<RoundLivenessCheckDue>(m => m.UsePartitioner(partition, c => c.Message.RoundId));
    }
}
