namespace Solo.Redis.Locks;

/// <summary>
/// The Lua scripts of <see cref="RedisLockStore"/>. Each runs atomically on the server, touches only the
/// keys it is given (so on a cluster they must share a hash slot), and is sent by its SHA once the server
/// has seen it.
/// </summary>
/// <remarks>
/// A lock is one string key, <c>token|expiresAtMs|owner</c>, with the lock's TTL as its Redis expiry, so
/// Redis itself forgets a lock when its lease ends and a released lock leaves nothing behind. The token is
/// the server clock in microseconds at acquisition, raised to one more than the token stored in the key
/// while the key lives (a re-acquisition by the owner or a hand-over within the same microsecond). Numbers
/// go through <c>string.format('%d')</c> because Lua's own conversion keeps only 14 digits.
/// </remarks>
internal static class LockScripts
{
    private const string Prelude = """
        local function parse(v)
          local token, exp, owner = string.match(v, '^(%d+)|(%d+)|(.*)$')
          if token == nil then
            error({err = 'SOLOLOCK the key holds a value that is not a Solo lock'})
          end
          return tonumber(token), tonumber(exp), owner
        end
        local function now_us()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000000 + tonumber(t[2])
        end
        local function store(key, token, owner, ttl, now)
          local exp = math.floor(now / 1000) + ttl
          redis.call('SET', key, string.format('%d|%d|', token, exp) .. owner, 'PX', string.format('%d', ttl))
          return exp
        end
        local function take(key, owner, ttl, previous)
          local now = now_us()
          local token = now
          if previous ~= nil and previous >= token then
            token = previous + 1
          end
          return {1, owner, token, store(key, token, owner, ttl, now)}
        end
        local function held_by(v, owner, token)
          local t, _, held = string.match(v, '^(%d+)|(%d+)|(.*)$')
          if t == nil then
            error({err = 'SOLOLOCK the key holds a value that is not a Solo lock'})
          end
          return held == owner and (token == '' or t == token)
        end
        local function acquire(key, owner, ttl)
          local v = redis.call('GET', key)
          if not v then
            return take(key, owner, ttl, nil)
          end
          local token, exp, held = parse(v)
          if held ~= owner then
            return {0, held, token, exp}
          end
          return take(key, owner, ttl, token)
        end

        """;

    /// <summary>KEYS: the lock. ARGV: owner, ttl ms. Returns {acquired, owner, token, expiresAtMs}.</summary>
    public const string TryAcquire = Prelude + """
        return acquire(KEYS[1], ARGV[1], tonumber(ARGV[2]))
        """;

    /// <summary>
    /// KEYS: the locks. ARGV: owner and ttl ms of each, in key order. Returns the four values of each
    /// result, flattened, in key order; a key given twice is taken once, by its first request.
    /// </summary>
    public const string TryAcquireMany = Prelude + """
        local out = {}
        for i, key in ipairs(KEYS) do
          local r = acquire(key, ARGV[2 * i - 1], tonumber(ARGV[2 * i]))
          for j = 1, 4 do
            out[#out + 1] = r[j]
          end
        end
        return out
        """;

    /// <summary>
    /// KEYS: the lock to take, the lock to release. ARGV: owner, ttl ms, token of the second (empty: any).
    /// Releases the second only when the first was taken and the owner holds the second with that token.
    /// Returns the result of taking the first.
    /// </summary>
    public const string TryAcquireAndRelease = Prelude + """
        local r = acquire(KEYS[1], ARGV[1], tonumber(ARGV[2]))
        if r[1] == 1 then
          local v = redis.call('GET', KEYS[2])
          if v and held_by(v, ARGV[1], ARGV[3]) then
            redis.call('DEL', KEYS[2])
          end
        end
        return r
        """;

    /// <summary>
    /// KEYS: the lock. ARGV: expected owner, new owner, ttl ms. Returns {handedOver, owner, token,
    /// expiresAtMs} with an empty owner when the key is free.
    /// </summary>
    public const string ReplaceOwner = Prelude + """
        local v = redis.call('GET', KEYS[1])
        if not v then
          return {0, '', 0, 0}
        end
        local token, exp, held = parse(v)
        if held ~= ARGV[1] then
          return {0, held, token, exp}
        end
        return take(KEYS[1], ARGV[2], tonumber(ARGV[3]), token)
        """;

    /// <summary>KEYS: the lock. ARGV: owner, ttl ms, token. Keeps the token. Returns 1 when renewed, else 0.</summary>
    public const string Renew = Prelude + """
        local v = redis.call('GET', KEYS[1])
        if not v or not held_by(v, ARGV[1], ARGV[3]) then
          return 0
        end
        local token, _, held = parse(v)
        store(KEYS[1], token, held, tonumber(ARGV[2]), now_us())
        return 1
        """;

    /// <summary>KEYS: the lock. ARGV: owner, token. Compare-and-delete. Returns 1 when released, else 0.</summary>
    public const string Release = Prelude + """
        local v = redis.call('GET', KEYS[1])
        if not v or not held_by(v, ARGV[1], ARGV[2]) then
          return 0
        end
        redis.call('DEL', KEYS[1])
        return 1
        """;
}
