using IcosFl.Contracts;
using IcosFl.Infrastructure.Weights;
using IcosFl.Learning;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace IcosFl.Controller.Sagas;

/// <summary>
/// Validates a StartFederation command and sets the federation up with its initial global model.
/// An invalid command throws <see cref="InvalidFederationRequestException"/>: the saga is not created,
/// MassTransit publishes a Fault&lt;StartFederation&gt;, and nothing else changes.
/// </summary>
public sealed class AcceptFederationActivity(WeightTransport transport, ILogger<AcceptFederationActivity> logger) :
    IStateMachineActivity<FederationState, StartFederation>
{
    public async Task Execute(BehaviorContext<FederationState, StartFederation> context, IBehavior<FederationState, StartFederation> next)
    {
        var message = context.Message;
        var config = ResolveRunConfig(message);
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

    /// <summary>The command's config (or the defaults), with its text overrides applied, validated.</summary>
    public static RunConfig ResolveRunConfig(StartFederation message)
    {
        if (message.FederationId == Guid.Empty)
            throw new InvalidFederationRequestException("StartFederation: federationId is missing or empty");
        RunConfig config;
        try
        {
            config = RunConfigParser.Parse(message.RunConfigText, message.RunConfig ?? RunConfig.Default);
        }
        catch (RunConfigException e)
        {
            throw new InvalidFederationRequestException($"StartFederation {message.FederationId}: {e.Message}", e);
        }
        var errors = RunConfigParser.Validate(config);
        if (errors.Count > 0)
            throw new InvalidFederationRequestException(
                $"StartFederation {message.FederationId}: invalid run config: " +
                string.Join("; ", errors.Select(e => $"{e.Key}: {e.Message}")));
        return config;
    }

    public Task Faulted<TException>(BehaviorExceptionContext<FederationState, StartFederation, TException> context,
        IBehavior<FederationState, StartFederation> next) where TException : Exception => next.Faulted(context);

    public void Probe(ProbeContext context) => context.CreateScope("accept-federation");

    public void Accept(StateMachineVisitor visitor) => visitor.Visit(this);
}

/// <summary>A StartFederation that cannot be accepted as it is (bad id, bad run config).</summary>
public sealed class InvalidFederationRequestException(string message, Exception? inner = null) : Exception(message, inner);
