using IcosFl.Contracts;
using IcosFl.Controller.Federations;
using IcosFl.Controller.Messages;
using IcosFl.Controller.Strategies;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Infrastructure.Weights;
using IcosFl.Learning;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace IcosFl.Controller.Sagas;

/// <summary>Sets an accepted federation up with its run config and initial global model (the strategy's, or a checkpoint's when resuming).</summary>
public sealed class InitializeFederationActivity(WeightTransport transport, IStrategyProvider strategies, ILogger<InitializeFederationActivity> logger) :
    IStateMachineActivity<FederationState, FederationRequested>
{
    /// <summary>
    /// The model a new federation starts from: its strategy's initial parameters (the one call of
    /// <see cref="IStrategy.InitializeParameters"/>). They depend on the run config alone, so
    /// <see cref="GlobalModelRecovery"/> draws them again here should their claim check be lost.
    /// </summary>
    public static ModelWeights InitialModel(IStrategyProvider strategies, RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(strategies);
        return strategies.For(config).InitializeParameters(config);
    }

    public async Task Execute(BehaviorContext<FederationState, FederationRequested> context, IBehavior<FederationState, FederationRequested> next)
    {
        var message = context.Message;
        var config = message.RunConfig;
        var saga = context.Saga;
        if (message.InitialWeights is { } resumed)
        {
            // Resuming: the checkpoint's model (already validated against the config by StartFederationConsumer).
            saga.GlobalWeights = resumed;
            saga.ServerState = message.InitialServerState;
            saga.Round = message.StartRound ?? 1;
            saga.ResumedFrom = message.ResumedFrom;
            logger.LogInformation("Federation {FederationId} resumes {ResumedFrom} at round {Round}",
                saga.CorrelationId, message.ResumedFrom, saga.Round);
        }
        else
        {
            var fresh = InitialModel(strategies, config);
            saga.GlobalWeights = await transport.PackAsync(fresh, $"{saga.CorrelationId:N}:global:0", context.CancellationToken);
            saga.Round = 1;
        }

        saga.RunConfig = config;
        saga.Attempt = 1;
        saga.CreatedAt = saga.UpdatedAt = DateTimeOffset.UtcNow;

        logger.LogInformation(
            "Federation {FederationId} accepted: {Rounds} rounds of {Strategy} on {Metric}, min-available-clients {MinAvailable}, min-fit-clients {MinFit}, model of {Parameters} parameters",
            saga.CorrelationId, config.NumServerRounds, config.Strategy, config.Metric, config.MinAvailableClients,
            config.MinFitClients, LstmLayout.Tensors(config).Sum(t => (long)t.ElementCount));
        await context.PublishFromConsumer(new FederationStarted
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
