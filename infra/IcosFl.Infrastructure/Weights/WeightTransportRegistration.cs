using Microsoft.Extensions.DependencyInjection;

namespace IcosFl.Infrastructure.Weights;

public static class WeightTransportRegistration
{
    /// <summary>How weights travel in this process: the given claim-check store, default options, the transport.</summary>
    public static IServiceCollection AddIcosFlWeightTransport(this IServiceCollection services, IClaimCheckStore store)
    {
        services.AddSingleton(store);
        services.AddSingleton(new WeightTransportOptions());
        services.AddSingleton<WeightTransport>();
        return services;
    }
}
