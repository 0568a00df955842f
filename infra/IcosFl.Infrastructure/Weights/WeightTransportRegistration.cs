using Microsoft.Extensions.DependencyInjection;

namespace IcosFl.Infrastructure.Weights;

public static class WeightTransportRegistration
{
    /// <summary>How weights travel in this process: the given claim-check store (the caller's to dispose), default options, the transport.</summary>
    public static IServiceCollection AddIcosFlWeightTransport(this IServiceCollection services, IClaimCheckStore store) =>
        services.AddSingleton(store).AddTransport();

    /// <summary>
    /// The same with a store the container creates, and disposes with itself when it is disposable (a Redis store's
    /// own connections to the payload Redis close with the host).
    /// </summary>
    public static IServiceCollection AddIcosFlWeightTransport(this IServiceCollection services, Func<IServiceProvider, IClaimCheckStore> store) =>
        services.AddSingleton(store).AddTransport();

    private static IServiceCollection AddTransport(this IServiceCollection services) =>
        services.AddSingleton(new WeightTransportOptions()).AddSingleton<WeightTransport>();
}
