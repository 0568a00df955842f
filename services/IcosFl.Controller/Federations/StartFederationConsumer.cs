using IcosFl.Contracts;
using IcosFl.Controller.Checkpoints;
using IcosFl.Controller.Messages;
using IcosFl.Controller.Strategies;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Infrastructure.Weights;
using IcosFl.Learning;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace IcosFl.Controller.Federations;

/// <summary>
/// The controller's front door for StartFederation, from .NET or any other AMQP client: validates the
/// command before any federation exists. An invalid command is logged with its reason and faults
/// (Fault&lt;StartFederation&gt;, the message goes to the error queue); nothing else changes. A command that resumes
/// another federation starts from that federation's latest checkpoint in this controller's checkpoint store.
/// </summary>
public sealed class StartFederationConsumer(ICheckpointStore checkpoints, WeightTransport transport, ILogger<StartFederationConsumer> logger)
    : IConsumer<StartFederation>
{
    public async Task Consume(ConsumeContext<StartFederation> context)
    {
        var message = context.Message;
        RunConfig config;
        Checkpoint? checkpoint = null;
        try
        {
            if (message.ResumeFrom is { } resumeFrom)
            {
                checkpoint = await LoadCheckpointAsync(message, resumeFrom, context.CancellationToken)
                    ?? throw new InvalidFederationRequestException(
                        $"StartFederation {message.FederationId}: no checkpoint of federation {resumeFrom} to resume from in {checkpoints.Describe(resumeFrom)}");
                config = ResolveResume(message, checkpoint);
            }
            else
            {
                config = Resolve(message);
            }
        }
        catch (InvalidFederationRequestException e)
        {
            logger.LogWarning("StartFederation {FederationId} rejected: {Reason}", message.FederationId, e.Message);
            throw;
        }
        if (checkpoint is null)
        {
            await context.PublishFromConsumer(new FederationRequested
            {
                FederationId = message.FederationId,
                RunConfig = config,
                RequestedBy = message.RequestedBy,
            });
            return;
        }

        var id = message.FederationId;
        await context.PublishFromConsumer(new FederationRequested
        {
            FederationId = id,
            RunConfig = config,
            RequestedBy = message.RequestedBy,
            InitialWeights = await transport.PackAsync(checkpoint.Weights, $"{id:N}:global:{checkpoint.Round}", context.CancellationToken),
            InitialServerState = checkpoint.ServerState is null
                ? null
                : await transport.PackAsync(checkpoint.ServerState, $"{id:N}:server-state:{checkpoint.Round}", context.CancellationToken),
            StartRound = checkpoint.Round + 1,
            ResumedFrom = checkpoint.FederationId,
        });
    }

    private async Task<Checkpoint?> LoadCheckpointAsync(StartFederation message, Guid resumeFrom, CancellationToken ct)
    {
        try
        {
            return await checkpoints.LoadAsync(resumeFrom, CheckpointKind.Latest, ct);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidFederationRequestException($"StartFederation {message.FederationId}: {e.Message}", e);
        }
    }

    /// <summary>
    /// The run config of a federation resuming <paramref name="checkpoint"/>: the checkpoint's (or the command's object),
    /// with the command's text overrides, validated; the model's architecture must stay that of the checkpoint's weights,
    /// and rounds must remain after the checkpoint's round.
    /// </summary>
    public static RunConfig ResolveResume(StartFederation message, Checkpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var config = Resolve(message with { RunConfig = message.RunConfig ?? checkpoint.RunConfig });
        try
        {
            LstmLayout.EnsureCompatible(checkpoint.Weights, config);
        }
        catch (IncompatibleWeightsException e)
        {
            throw new InvalidFederationRequestException(
                $"StartFederation {message.FederationId}: the checkpoint of {checkpoint.FederationId} does not fit hidden-layer-size " +
                $"{config.HiddenLayerSize}, num-layers {config.NumLayers} and input-metrics '{config.InputMetrics}': {e.Message}", e);
        }

        if (checkpoint.Round >= config.NumServerRounds)
            throw new InvalidFederationRequestException(
                $"StartFederation {message.FederationId}: federation {checkpoint.FederationId} is checkpointed at round {checkpoint.Round} " +
                $"and num-server-rounds is {config.NumServerRounds}: nothing left to run; raise num-server-rounds (the total, counting the rounds done)");
        return config;
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
