using IcosFl.Contracts;
using IcosFl.Controller.Messages;
using IcosFl.Infrastructure.Weights;
using IcosFl.Learning;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace IcosFl.Controller.Sagas;

/// <summary>Sets an accepted federation up with its run config and initial global model.</summary>
public sealed class InitializeFederationActivity(WeightTransport transport, ILogger<InitializeFederationActivity> logger) :
    IStateMachineActivity<FederationState, FederationRequested>
{
    public async Task Execute(BehaviorContext<FederationState, FederationRequested> context, IBehavior<FederationState, FederationRequested> next)
    {
        var config = context.Message.RunConfig;
        var saga = context.Saga;
        var initial = LocalTraining.InitialWeights(config);
        saga.GlobalWeights = await transport.PackAsync(initial, $"{saga.CorrelationId:N}:global:0", context.CancellationToken);
        saga.RunConfig = config;
        saga.Round = 1;
        saga.Attempt = 1;
        saga.CreatedAt = saga.UpdatedAt = DateTimeOffset.UtcNow;

        logger.LogInformation(
            "Federation {FederationId} accepted: {Rounds} rounds of {Strategy} on {Metric}, min-available-clients {MinAvailable}, min-fit-clients {MinFit}, model of {Parameters} parameters",
            saga.CorrelationId, config.NumServerRounds, config.Strategy, config.Metric, config.MinAvailableClients,
            config.MinFitClients, initial.ParameterCount);
        await context.Publish(new FederationStarted
        {
            FederationId = saga.CorrelationId,
            RunConfig = config,
            StartedAt = saga.CreatedAt,
        });
        await next.Execute(context);
    }

    public Task Faulted<TException>(BehaviorExceptionContext<FederationState, FederationRequested, TException> context,
        IBehavior<FederationState, FederationRequested> next) where TException : Exception => next.Faulted(context);

    public void Probe(ProbeContext context) => context.CreateScope("initialize-federation");

    public void Accept(StateMachineVisitor visitor) => visitor.Visit(this);
}
