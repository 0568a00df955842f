using System.Reflection;
using System.Text.Json;

namespace IcosFl.Learning.Tests.NativeFix;

/// <summary>Where the TorchSharp native library lies: pristine in the NuGet cache, patched in the build output.</summary>
internal static class TorchSharpNativeLibrary
{
    public const string FileName = "libLibTorchSharp.so";
    public const string WeakVersion = "GLIBCXX_3.4.32";

    public static string InOutput => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", FileName);

    /// <summary>The NuGet cache copy of the TorchSharp version this test assembly was built against (from its deps.json).</summary>
    public static string InNuGetCache()
    {
        var packageRoot = typeof(TorchSharpNativeLibrary).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "NuGetPackageRoot").Value
            ?? throw new InvalidOperationException("The test assembly does not record NuGetPackageRoot.");
        var depsFile = Path.Combine(AppContext.BaseDirectory, "IcosFl.Learning.Tests.deps.json");
        using var deps = JsonDocument.Parse(File.ReadAllText(depsFile));
        var torchSharp = deps.RootElement.GetProperty("libraries").EnumerateObject()
            .Single(library => library.Name.StartsWith("TorchSharp/", StringComparison.Ordinal));
        var packagePath = torchSharp.Value.GetProperty("path").GetString()!; // e.g. torchsharp/0.107.0
        return Path.Combine(packageRoot, packagePath, "runtimes", "linux-x64", "native", FileName);
    }
}
