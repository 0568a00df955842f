using System.Reflection;
using IcosFl.Infrastructure.Messaging;
using MassTransit;

namespace IcosFl.Infrastructure.Tests.Messaging;

/// <summary>
/// The controller and worker may publish only through <see cref="ConsumePublishing.PublishFromConsumer{T}"/>: the
/// banned-API analyzer turns any other Publish into compile error RS0030. The analyzer silently skips an entry that
/// names no method, and knows nothing of overloads a MassTransit upgrade adds, so the list is checked here against
/// MassTransit itself.
/// </summary>
public sealed class Publishing_only_within_the_consume
{
    private static readonly string Root = RepositoryRoot();

    [Fact]
    public void Should_ban_every_publish_overload_that_MassTransit_has_and_nothing_that_does_not_exist()
    {
        var banned = File.ReadLines(Path.Combine(Root, "services", "BannedSymbols.Publishing.txt"))
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith("//", StringComparison.Ordinal))
            .Select(l => l.Split(';')[0])
            .ToHashSet();
        var overloads = PublishOverloads().Select(DocumentationId).ToHashSet();

        Assert.True(overloads.Count >= 20, $"only {overloads.Count} Publish overloads found in MassTransit");
        Assert.Empty(overloads.Except(banned));
        Assert.Empty(banned.Except(overloads));
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

    /// <summary>IPublishEndpoint's own Publish methods, and MassTransit's extension methods that publish on one.</summary>
    private static IEnumerable<MethodInfo> PublishOverloads()
    {
        var own = typeof(IPublishEndpoint).GetMethods().Where(m => m.Name == "Publish");
        var extensions = new[] { typeof(IPublishEndpoint).Assembly, typeof(InMemorySagaRepository<>).Assembly }
            .Distinct()
            .SelectMany(a => a.GetExportedTypes())
            .Where(t => t is { IsAbstract: true, IsSealed: true })
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(m => m.Name == "Publish" && m.GetParameters() is [{ ParameterType: var first }, ..] &&
                        first.IsAssignableTo(typeof(IPublishEndpoint)));
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
