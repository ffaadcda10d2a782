using System.Globalization;
using System.Text;

namespace Solo.RabbitMQ;

/// <summary>
/// The RabbitMQ objects behind one Solo queue <c>Q</c>, and how a delay is spelled as a route through them.
/// </summary>
/// <remarks>
/// <para>
/// <c>Q</c> is a durable quorum queue; <c>Q.dead</c> a durable classic queue of dead letters. For delays
/// there are <c>levels</c> pairs of a topic exchange and a classic queue, both named <c>Q.delay.{ttl}ms</c>,
/// where level <c>i</c> has ttl = resolution × 2^i. A delay of <c>n</c> units is published to the highest
/// level's exchange with <c>n</c> in binary as its routing key, one dot-separated word per level, highest
/// first (<c>1.0.1</c> is 5 units with 3 levels). Each level's exchange sends a message whose bit is 1 to its
/// queue and one whose bit is 0 on to the next lower level's exchange; each level's queue holds a message for
/// its TTL and then dead-letters it, with its routing key unchanged, to the next lower level's exchange. Below
/// level 0 is <c>Q</c> itself. So a message waits exactly the sum of its set bits, in queues whose messages
/// all share one TTL and therefore expire in order, with no plugin and a bounded number of queues.
/// </para>
/// </remarks>
internal sealed class QueueNames
{
    /// <summary>RabbitMQ's limit on queue and exchange names is 255 bytes; the longest suffix needs about 20.</summary>
    public const int MaxQueueNameBytes = 200;

    private readonly long _unitMs;
    private readonly string[] _delayNames;
    private readonly string[] _oneBindings;
    private readonly string[] _zeroBindings;

    public QueueNames(string queue, TimeSpan resolution, int levels)
    {
        Queue = queue;
        DeadLetters = queue + ".dead";
        _unitMs = (long)resolution.TotalMilliseconds;
        _delayNames = new string[levels];
        _oneBindings = new string[levels];
        _zeroBindings = new string[levels];
        for (var level = 0; level < levels; level++)
        {
            _delayNames[level] = string.Create(CultureInfo.InvariantCulture, $"{queue}.delay.{_unitMs << level}ms");
            _oneBindings[level] = Pattern(levels, level, '1');
            _zeroBindings[level] = Pattern(levels, level, '0');
        }
    }

    /// <summary>The work queue.</summary>
    public string Queue { get; }

    /// <summary>The dead-letter queue.</summary>
    public string DeadLetters { get; }

    public int Levels => _delayNames.Length;

    /// <summary>Where every delayed message is published: the highest level's exchange.</summary>
    public string DelayEntry => _delayNames[^1];

    /// <summary>The name of level <paramref name="level"/>'s exchange and of its queue.</summary>
    public string Delay(int level) => _delayNames[level];

    /// <summary>How long level <paramref name="level"/>'s queue holds a message, in milliseconds.</summary>
    public int DelayTtl(int level) => checked((int)(_unitMs << level));

    /// <summary>The binding of level <paramref name="level"/>'s exchange to its own queue.</summary>
    public string OneBinding(int level) => _oneBindings[level];

    /// <summary>The binding of level <paramref name="level"/>'s exchange to the level below (or to the work queue).</summary>
    public string ZeroBinding(int level) => _zeroBindings[level];

    /// <summary>Throws when <paramref name="queue"/> cannot name a Solo queue on RabbitMQ.</summary>
    public static void Validate(string? queue, string paramName)
    {
        if (string.IsNullOrEmpty(queue))
        {
            throw new ArgumentException("A queue name must not be empty.", paramName);
        }

        if (queue.StartsWith("amq.", StringComparison.Ordinal))
        {
            throw new ArgumentException($"Queue '{queue}': names starting with 'amq.' are reserved by RabbitMQ.", paramName);
        }

        if (Encoding.UTF8.GetByteCount(queue) > MaxQueueNameBytes)
        {
            throw new ArgumentException($"Queue '{queue}' is longer than {MaxQueueNameBytes} UTF-8 bytes; RabbitMQ allows 255 and Solo adds suffixes.", paramName);
        }
    }

    /// <summary>The routing key that makes a message wait <paramref name="units"/> (1 to 2^levels − 1) units.</summary>
    public static string RoutingKey(long units, int levels)
    {
        return string.Create((2 * levels) - 1, (units, levels), static (span, state) =>
        {
            for (var word = 0; word < state.levels; word++)
            {
                var level = state.levels - 1 - word;
                span[2 * word] = ((state.units >> level) & 1) == 1 ? '1' : '0';
                if (word < state.levels - 1)
                {
                    span[(2 * word) + 1] = '.';
                }
            }
        });
    }

    private static string Pattern(int levels, int level, char bit)
    {
        var words = new string[levels];
        for (var word = 0; word < levels; word++)
        {
            words[word] = word == levels - 1 - level ? bit.ToString() : "*";
        }

        return string.Join('.', words);
    }
}
