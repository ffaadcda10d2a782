using Microsoft.Extensions.DependencyInjection;

namespace Solo.RabbitMQ;

/// <summary>Chooses RabbitMQ as the broker inside <c>services.AddSolo(solo => ...)</c>.</summary>
public static class RabbitMQSoloBuilderExtensions
{
    /// <summary>
    /// Uses a <see cref="RabbitMQBroker"/> on <paramref name="uri"/> as the broker, replacing any chosen
    /// before. Only the broker: the lock store is chosen on its own (for example Redis, or the default). The
    /// broker is a singleton that takes its clock from the <see cref="TimeProvider"/> in the services and
    /// connects on first use.
    /// </summary>
    /// <param name="builder">Solo's builder.</param>
    /// <param name="uri">The server, e.g. <c>amqp://guest:guest@127.0.0.1:5672/</c>.</param>
    /// <param name="configure">Changes the other settings.</param>
    /// <exception cref="ArgumentException">The URI or a setting is invalid; checked here, at registration.</exception>
#pragma warning disable CA1054 // A connection string is how apps hold this; RabbitMQBrokerOptions.Uri takes a Uri.
    public static SoloBuilder UseRabbitMQ(this SoloBuilder builder, string uri, Action<RabbitMQBrokerOptions>? configure = null)
#pragma warning restore CA1054
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(uri);
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed))
        {
            // The text may hold a password, so it is not repeated here.
            throw new ArgumentException("The RabbitMQ URI is not an absolute URI (amqp://user:password@host:port/vhost).", nameof(uri));
        }

        var options = new RabbitMQBrokerOptions { Uri = parsed };
        configure?.Invoke(options);
        options.Validate(nameof(configure));
        return builder.UseBroker(sp => new RabbitMQBroker(options, sp.GetRequiredService<TimeProvider>()));
    }
}
