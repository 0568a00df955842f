using System.Reflection;
using IcosFl.Infrastructure.Messaging;
using MassTransit;

namespace IcosFl.Infrastructure.Tests.Messaging;

/// <summary>
/// The controller and worker may publish only through <see cref="ConsumePublishing.PublishFromConsumer{T}"/>: the
/// banned-API analyzer turns any other publish or send into compile error RS0030. The analyzer silently skips an entry
/// that names no method, and knows nothing of methods a MassTransit upgrade adds, so the list is checked here against
/// MassTransit itself.
/// </summary>
public sealed class Publishing_only_within_the_consume
{
    private static readonly string Root = RepositoryRoot();

    [Fact]
    public void Should_ban_every_publish_and_send_method_that_MassTransit_has_and_nothing_that_does_not_exist()
    {
        var banned = File.ReadLines(Path.Combine(Root, "services", "BannedSymbols.Publishing.txt"))
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith("//", StringComparison.Ordinal))
            .Select(l => l.Split(';')[0])
            .ToHashSet();
        var overloads = PublishOverloads().Select(DocumentationId).ToHashSet();

        Assert.True(overloads.Count >= 40, $"only {overloads.Count} publish and send methods found in MassTransit");
        var unbanned = overloads.Except(banned).Order().ToList();
        Assert.True(unbanned.Count == 0, "not banned:\n" + string.Join("\n", unbanned));
        var unknown = banned.Except(overloads).Order().ToList();
        Assert.True(unknown.Count == 0, "banned but no such method in MassTransit (the analyzer ignores these):\n" + string.Join("\n", unknown));
    }

    [Theory]
    [InlineData("services/IcosFl.Controller/IcosFl.Controller.csproj")]
    [InlineData("services/IcosFl.Worker/IcosFl.Worker.csproj")]
    public void Should_hold_the_ban_in_the_projects_that_consume(string project)
    {
        var text = File.ReadAllText(Path.Combine(Root, project));
        Assert.Contains("<PackageReference Include=\"Microsoft.CodeAnalysis.BannedApiAnalyzers\"", text);
        Assert.Contains("<AdditionalFiles Include=\"../BannedSymbols.Publishing.txt\" />", text);
    }

    /// <summary>
    /// Every way MassTransit offers to put a message on the broker from an endpoint: IPublishEndpoint's and
    /// ISendEndpoint's own methods, and the extension methods that publish or send on one of those or on an
    /// ISendEndpointProvider (a ConsumeContext is all three).
    /// </summary>
    private static IEnumerable<MethodInfo> PublishOverloads()
    {
        string[] names = ["Publish", "PublishBatch", "Send", "SendBatch"];
        Type[] endpoints = [typeof(IPublishEndpoint), typeof(ISendEndpoint), typeof(ISendEndpointProvider)];
        var own = new[] { typeof(IPublishEndpoint), typeof(ISendEndpoint) }
            .SelectMany(t => t.GetMethods())
            .Where(m => names.Contains(m.Name));
        var extensions = new[] { typeof(IPublishEndpoint).Assembly, typeof(InMemorySagaRepository<>).Assembly }
            .Distinct()
            .SelectMany(a => a.GetExportedTypes())
            .Where(t => t is { IsAbstract: true, IsSealed: true })
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(m => names.Contains(m.Name) && m.IsDefined(typeof(System.Runtime.CompilerServices.ExtensionAttribute), false) &&
                        m.GetParameters() is [{ ParameterType: var first }, ..] &&
                        endpoints.Any(first.IsAssignableTo));
        return own.Concat(extensions);
    }

    /// <summary>The C# documentation comment ID of a method, the form BannedSymbols.txt entries take.</summary>
    private static string DocumentationId(MethodInfo method)
    {
        var generic = method.IsGenericMethod ? "``" + method.GetGenericArguments().Length : "";
        var parameters = method.GetParameters() is { Length: > 0 } ps ? $"({string.Join(",", ps.Select(p => TypeId(p.ParameterType)))})" : "";
        return $"M:{TypeId(method.DeclaringType!)}.{method.Name}{generic}{parameters}";
    }

    private static string TypeId(Type type)
    {
        if (type.IsGenericMethodParameter)
            return "``" + type.GenericParameterPosition;
        if (type.IsGenericTypeParameter)
            return "`" + type.GenericParameterPosition;
        if (type.IsConstructedGenericType)
        {
            var definition = type.GetGenericTypeDefinition().FullName!;
            return $"{definition[..definition.IndexOf('`')].Replace('+', '.')}{{{string.Join(",", type.GetGenericArguments().Select(TypeId))}}}";
        }
        return type.FullName!.Replace('+', '.');
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "IcosFl.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("IcosFl.sln not found above " + AppContext.BaseDirectory);
    }
}
