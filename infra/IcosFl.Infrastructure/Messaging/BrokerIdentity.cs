using System.Text.RegularExpressions;
using MassTransit;

namespace IcosFl.Infrastructure.Messaging;

/// <summary>
/// One broker identity per node (issue 16): the worker with id ID logs in to RabbitMQ as user <c>icosfl-node-ID</c>
/// (enrolled with <c>icosfl node add ID</c>) and stamps every message it sends with AMQP's <c>user_id</c> property,
/// which RabbitMQ checks against the connection's user: a worker cannot send in another user's name. The controller
/// then believes the broker's user, not the WorkerId in the body.
/// </summary>
public static partial class BrokerIdentity
{
    /// <summary>The broker user of an enrolled node is this prefix followed by its worker id.</summary>
    public const string NodeUserPrefix = "icosfl-node-";

    /// <summary>The shared worker user of the development mode (compose's <c>--scale worker=N</c>).</summary>
    public const string SharedWorkerUser = "icosfl-worker";

    /// <summary>The longest worker id a node may be enrolled with (queue names and user names stay short).</summary>
    public const int MaxWorkerIdLength = 64;

    /// <summary>The broker user of the node with this worker id.</summary>
    public static string NodeUser(string workerId) => NodeUserPrefix + workerId;

    /// <summary>The worker id an enrolled node's broker user stands for, or null when the user is no node user.</summary>
    public static string? WorkerIdOf(string? brokerUser) =>
        brokerUser is { } user && user.StartsWith(NodeUserPrefix, StringComparison.Ordinal) && user.Length > NodeUserPrefix.Length
            ? user[NodeUserPrefix.Length..]
            : null;

    /// <summary>Why <paramref name="workerId"/> cannot be a node's id, or null when it can.</summary>
    public static string? WorkerIdProblem(string? workerId)
    {
        if (string.IsNullOrEmpty(workerId))
            return "the node id is empty";
        if (workerId.Length > MaxWorkerIdLength)
            return $"the node id '{workerId}' is {workerId.Length} characters long, at most {MaxWorkerIdLength} are allowed";
        if (!ValidWorkerId().IsMatch(workerId))
        {
            var bad = workerId.FirstOrDefault(c => !(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'));
            return bad != default
                ? $"the node id '{workerId}' contains '{bad}': only ASCII letters, digits, '.', '_' and '-' are allowed"
                : $"the node id '{workerId}' must start with an ASCII letter or digit";
        }
        return null;
    }

    /// <summary>
    /// The RabbitMQ permissions of an enrolled node (configure, write, read regexes on the IcosFl vhost): those of the
    /// shared icosfl-worker user in compose/rabbitmq/definitions.json, with "any worker's queue" narrowed to the node's
    /// own queue (<c>icosfl-worker-{ID}</c>, and the <c>_error</c>/<c>_skipped</c> queues MassTransit gives it). It may
    /// read only its own queue, the two exchanges that address workers and its bus's temporary queue; write only
    /// its own queue and the exchanges of the messages a worker sends.
    /// </summary>
    public static (string Configure, string Write, string Read) NodePermissions(string workerId)
    {
        if (WorkerIdProblem(workerId) is { } problem)
            throw new ArgumentException(problem, nameof(workerId));
        var queue = $"icosfl-worker-{Regex.Escape(workerId)}(_error|_skipped)?";
        return (
            $@"^({queue}|IcosFl\.Contracts:(RoundStarted|EvaluationRequested)|IcosFl\.Contracts:(WorkerHeartbeat|WorkerStopping|WeightUpdateSubmitted|TrainingDeclined|EvaluationReported|WeightChunk|WeightChunkRequested)|MassTransit:Fault.*|[^:]*_bus_[^:]*)$",
            $@"^({queue}|IcosFl\.Contracts:(WorkerHeartbeat|WorkerStopping|WeightUpdateSubmitted|TrainingDeclined|EvaluationReported|WeightChunk|WeightChunkRequested)|MassTransit:Fault.*|[^:]*_bus_[^:]*)$",
            $@"^({queue}|IcosFl\.Contracts:(RoundStarted|EvaluationRequested)|MassTransit:Fault.*|[^:]*_bus_[^:]*)$");
    }

    /// <summary>
    /// The topic permissions of an enrolled node, one per exchange that addresses a worker (exchange, write, read regexes):
    /// it may bind to them only with its own worker id as the key. Its normal permissions must let it read those
    /// exchanges (a binding needs that), which alone would let it bind its queue with another node's id and receive
    /// that node's round starts; RabbitMQ checks the binding key of a topic exchange against the read regex here and
    /// refuses the binding. It publishes to neither, so write matches nothing.
    /// </summary>
    public static IReadOnlyList<(string Exchange, string Write, string Read)> NodeTopicPermissions(string workerId)
    {
        if (WorkerIdProblem(workerId) is { } problem)
            throw new ArgumentException(problem, nameof(workerId));
        var own = $"^{Regex.Escape(workerId)}$";
        return RabbitMqTopology.AddressedExchanges.Select(exchange => (exchange, "^$", own)).ToList();
    }

    /// <summary>
    /// The user of an amqp URI (its user info before the colon, unescaped); for an amqps URI naming no user, the common
    /// name of the client certificate it logs in with (EXTERNAL, <see cref="BrokerTls"/>); else null.
    /// </summary>
    public static string? UserOf(string brokerUri)
    {
        if (!Uri.TryCreate(brokerUri, UriKind.Absolute, out var uri))
            return null;
        if (uri.UserInfo.Length == 0)
            return uri.Scheme == "amqps" ? BrokerTls.FromEnvironment().CertificateUser() : null;
        var user = Uri.UnescapeDataString(uri.UserInfo.Split(':')[0]);
        return user.Length == 0 ? null : user;
    }

    /// <summary>
    /// Stamps every message this bus sends or publishes with <c>user_id</c> = <paramref name="brokerUser"/>, the user
    /// the bus logs in as: RabbitMQ refuses a publish whose user_id is not the connection's user, so the receiver can
    /// trust it.
    /// </summary>
    public static void UseBrokerUserId(this IRabbitMqBusFactoryConfigurator cfg, string brokerUser)
    {
        cfg.ConfigureSend(s => s.UseExecute(context => Stamp(context, brokerUser)));
        cfg.ConfigurePublish(p => p.UseExecute(context => Stamp(context, brokerUser)));
    }

    private static void Stamp(SendContext context, string brokerUser)
    {
        if (context.TryGetPayload<RabbitMqSendContext>(out var rabbit))
            rabbit.BasicProperties.UserId = brokerUser;
    }

    /// <summary>The broker-checked user_id of a message received from RabbitMQ, or null (none set, or not from RabbitMQ).</summary>
    public static string? AuthenticatedUser(ConsumeContext context) =>
        context.ReceiveContext.TryGetPayload<RabbitMqBasicConsumeContext>(out var rabbit) && rabbit.Properties.UserId is { Length: > 0 } user
            ? user
            : null;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex ValidWorkerId();
}
