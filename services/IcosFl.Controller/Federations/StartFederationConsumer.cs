using IcosFl.Contracts;
using IcosFl.Controller.Messages;
using IcosFl.Controller.Strategies;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace IcosFl.Controller.Federations;

/// <summary>
/// The controller's front door for StartFederation, from .NET or any other AMQP client: validates the
/// command before any federation exists. An invalid command is logged with its reason and faults
/// (Fault&lt;StartFederation&gt;, the message goes to the error queue); nothing else changes.
/// </summary>
public sealed class StartFederationConsumer(ILogger<StartFederationConsumer> logger) : IConsumer<StartFederation>
{
    public async Task Consume(ConsumeContext<StartFederation> context)
    {
        var message = context.Message;
        RunConfig config;
        try
        {
            config = Resolve(message);
        }
        catch (InvalidFederationRequestException e)
        {
            logger.LogWarning("StartFederation {FederationId} rejected: {Reason}", message.FederationId, e.Message);
            throw;
        }
        await context.Publish(new FederationRequested
        {
            FederationId = message.FederationId,
            RunConfig = config,
            RequestedBy = message.RequestedBy,
        });
    }

    /// <summary>The command's config (or the defaults), with its text overrides applied, validated.</summary>
    public static RunConfig Resolve(StartFederation message)
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
        try
        {
            StrategyFactory.Create(config);
        }
        catch (ArgumentException e)
        {
            throw new InvalidFederationRequestException($"StartFederation {message.FederationId}: {e.Message}", e);
        }
        return config;
    }
}

public sealed class StartFederationConsumerDefinition : ConsumerDefinition<StartFederationConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<StartFederationConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Ignore<InvalidFederationRequestException>();
            r.Intervals(100, 500, 1000);
        });
        endpointConfigurator.UseInMemoryOutbox(context);
    }
}

/// <summary>A StartFederation that cannot be accepted as it is (bad id, bad run config).</summary>
public sealed class InvalidFederationRequestException(string message, Exception? inner = null) : Exception(message, inner);
