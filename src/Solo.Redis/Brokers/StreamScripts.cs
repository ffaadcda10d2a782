namespace Solo.Redis.Brokers;

/// <summary>
/// The Lua scripts of <see cref="RedisStreamsBroker"/>. Each touches the keys of one queue only (they
/// share the queue's hash tag), so each is atomic on a cluster as on one server.
/// </summary>
/// <remarks>
/// <para>
/// A queue is a stream read through one consumer group (ready and in-flight messages: acked messages are
/// deleted), a sorted set of delayed messages scored by their start time in Unix milliseconds, and a
/// dead-letter stream. A delayed message is one member: a 32-character nonce (so equal messages stay
/// apart), the byte length of its id, a colon, the id, then the body.
/// </para>
/// <para>
/// A delivery is identified by its entry id, its consumer and its delivery count; it is live while the
/// group's pending entry still has that consumer and count and has been idle for less than the lease.
/// Settling or renewing checks exactly that first, so a stale delivery changes nothing.
/// </para>
/// </remarks>
internal static class StreamScripts
{
    private const string Prelude = """
        local function ensure(stream, group)
          if redis.call('EXISTS', stream) == 0 then
            redis.call('XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM')
          end
        end
        local function holds(stream, group, consumer, id, count, lease)
          if redis.call('EXISTS', stream) == 0 then
            return false
          end
          local p = redis.call('XPENDING', stream, group, id, id, 1)[1]
          return p ~= nil and p[2] == consumer and p[4] == tonumber(count) and p[3] < tonumber(lease)
        end
        local function settle(stream, group, id)
          redis.call('XACK', stream, group, id)
          redis.call('XDEL', stream, id)
        end
        local function add(stream, zset, group, id, body, due, member)
          if tonumber(due) > 0 then
            redis.call('ZADD', zset, due, member)
          else
            ensure(stream, group)
            redis.call('XADD', stream, '*', 'i', id, 'b', body)
          end
        end
        local function field(fields, name)
          for i = 1, #fields, 2 do
            if fields[i] == name then
              return fields[i + 1]
            end
          end
          return ''
        end

        """;

    /// <summary>
    /// KEYS: stream, delayed set. ARGV: group, then (id, body, due ms or 0, delayed member) per message,
    /// with the body empty for a delayed message (it travels in the member) and the member empty otherwise.
    /// </summary>
    public const string Publish = Prelude + """
        ensure(KEYS[1], ARGV[1])
        for i = 2, #ARGV, 4 do
          add(KEYS[1], KEYS[2], ARGV[1], ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
        end
        return 1
        """;

    /// <summary>
    /// KEYS: stream, delayed set. ARGV: group, consumer, max messages, now ms, lease ms, claim cursor.
    /// Moves the due delayed messages into the stream, takes over the messages whose lease ended (any
    /// consumer's), then reads new ones. Returns {next claim cursor, (entry id, message id, body, delivery
    /// count) per message, flattened}.
    /// </summary>
    public const string Receive = Prelude + """
        local stream, zset, group, consumer = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
        local max = tonumber(ARGV[3])
        ensure(stream, group)
        local due = redis.call('ZRANGEBYSCORE', zset, '-inf', ARGV[4], 'LIMIT', 0, 256)
        for _, m in ipairs(due) do
          local colon = string.find(m, ':', 33, true)
          local n = tonumber(string.sub(m, 33, colon - 1))
          redis.call('XADD', stream, '*', 'i', string.sub(m, colon + 1, colon + n), 'b', string.sub(m, colon + n + 1))
          redis.call('ZREM', zset, m)
        end
        local out = {}
        local claimed = redis.call('XAUTOCLAIM', stream, group, consumer, ARGV[5], ARGV[6], 'COUNT', max)
        local taken = 0
        for _, e in ipairs(claimed[2]) do
          if e[2] and #e[2] > 0 then
            local p = redis.call('XPENDING', stream, group, e[1], e[1], 1)[1]
            out[#out + 1] = e[1]
            out[#out + 1] = field(e[2], 'i')
            out[#out + 1] = field(e[2], 'b')
            out[#out + 1] = p[4]
            taken = taken + 1
          else
            redis.call('XACK', stream, group, e[1])
          end
        end
        if taken < max then
          local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', max - taken, 'STREAMS', stream, '>')
          if r then
            for _, e in ipairs(r[1][2]) do
              out[#out + 1] = e[1]
              out[#out + 1] = field(e[2], 'i')
              out[#out + 1] = field(e[2], 'b')
              out[#out + 1] = 1
            end
          end
        end
        return {claimed[1], out}
        """;

    /// <summary>KEYS: stream. ARGV: group, consumer, entry id, delivery count, lease ms. Returns 1 when acked.</summary>
    public const string Ack = Prelude + """
        if not holds(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]) then
          return 0
        end
        settle(KEYS[1], ARGV[1], ARGV[3])
        return 1
        """;

    /// <summary>
    /// KEYS: stream, replacement's stream, replacement's delayed set. ARGV: group, consumer, entry id,
    /// delivery count, lease ms, then the replacement as <see cref="Publish"/> takes it. Returns 1 when done.
    /// </summary>
    public const string Requeue = Prelude + """
        if not holds(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]) then
          return 0
        end
        add(KEYS[2], KEYS[3], ARGV[1], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
        settle(KEYS[1], ARGV[1], ARGV[3])
        return 1
        """;

    /// <summary>
    /// KEYS: stream, dead-letter stream. ARGV: group, consumer, entry id, delivery count, lease ms, message
    /// id, body, reason, time ms. Returns 1 when dead-lettered.
    /// </summary>
    public const string DeadLetter = Prelude + """
        if not holds(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]) then
          return 0
        end
        redis.call('XADD', KEYS[2], '*', 'i', ARGV[6], 'b', ARGV[7], 'r', ARGV[8], 't', ARGV[9])
        settle(KEYS[1], ARGV[1], ARGV[3])
        return 1
        """;

    /// <summary>
    /// KEYS: stream. ARGV: group, consumer, entry id, delivery count, lease ms. Resets the entry's idle time
    /// (XCLAIM to itself with JUSTID, which leaves the delivery count alone). Returns 1 when renewed.
    /// </summary>
    public const string Renew = Prelude + """
        if not holds(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]) then
          return 0
        end
        redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
        return 1
        """;

    /// <summary>
    /// KEYS: stream, delayed set, dead-letter stream. ARGV: group. Returns {ready, scheduled, in flight,
    /// dead-lettered}, read in one step.
    /// </summary>
    public const string Counts = """
        local length, pending = 0, 0
        if redis.call('EXISTS', KEYS[1]) == 1 then
          length = redis.call('XLEN', KEYS[1])
          local p = redis.pcall('XPENDING', KEYS[1], ARGV[1])
          if type(p) == 'table' and p.err == nil then
            pending = p[1]
          end
        end
        return {length - pending, redis.call('ZCARD', KEYS[2]), pending, redis.call('XLEN', KEYS[3])}
        """;

    /// <summary>
    /// KEYS: stream. ARGV: group, consumer. Removes the consumer from the group when it holds no pending
    /// message (removing one that does would strand its messages). Returns 1 when removed.
    /// </summary>
    public const string Leave = """
        if redis.call('EXISTS', KEYS[1]) == 0 then
          return 0
        end
        local p = redis.pcall('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
        if type(p) ~= 'table' or p.err ~= nil or #p > 0 then
          return 0
        end
        redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
        return 1
        """;
}
