using IcosFl.Contracts;
using IcosFl.Controller.Messages;
using MassTransit;

namespace IcosFl.Controller.Sagas;

public sealed class RoundStateDefinition : SagaDefinition<RoundState>
{
    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpointConfigurator,
        ISagaConfigurator<RoundState> sagaConfigurator, IRegistrationContext context)
    {
        // Many workers answer one round at once. Within this process, messages of one round take
        // turns (a partition per RoundId), so they do not race for the same saga version; several
        // controllers, or a restart, still meet optimistic concurrency, retried with jitter.
        endpointConfigurator.UseMessageRetry(r => r.Exponential(30, TimeSpan.FromMilliseconds(5),
            TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(20)));
        endpointConfigurator.UseInMemoryOutbox(context);
        var partition = endpointConfigurator.CreatePartitioner(Environment.ProcessorCount * 4);
        sagaConfigurator.Message<RoundOpened>(m => m.UsePartitioner(partition, c => c.Message.RoundId));
        sagaConfigurator.Message<WeightUpdateSubmitted>(m => m.UsePartitioner(partition, c => c.Message.RoundId));
        sagaConfigurator.Message<TrainingDeclined>(m => m.UsePartitioner(partition, c => c.Message.RoundId));
        sagaConfigurator.Message<EvaluationReported>(m => m.UsePartitioner(partition, c => c.Message.RoundId));
        sagaConfigurator.Message<RoundAggregated>(m => m.UsePartitioner(partition, c => c.Message.RoundId));
        sagaConfigurator.Message<RoundAggregationFailed>(m => m.UsePartitioner(partition, c => c.Message.RoundId));
        sagaConfigurator.Message<RoundDeadlineReached>(m => m.UsePartitioner(partition, c => c.Message.RoundId));
        sagaConfigurator.Message<EvaluationDeadlineReached>(m => m.UsePartitioner(partition, c => c.Message.RoundId));
        sagaConfigurator.Message<RoundLivenessCheckDue>(m => m.UsePartitioner(partition, c => c.Message.RoundId));
    }
}
