/*
 * The Lua behind FleetLimits. Every key a script touches is built from the queue
 * prefix (the job's hash included), so under a `{tag}` prefix each call stays in one
 * Redis Cluster slot. Time is Redis's own (TIME): workers' clocks may disagree, and
 * every expiry and cooldown is compared on one clock.
 */

const NOW = `
local rcall = redis.call
local t = rcall("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- The same instant in microseconds, as text (Lua's tostring would round it): what orders an admission
-- and a cut, which a fast worker can make within one millisecond.
local nowUs = t[1] .. string.format("%06d", tonumber(t[2]))
`;

/** Keeps a slot set alive as long as its latest entry (PEXPIRE ... GT needs Redis 7). */
const KEEP_ALIVE = `
local function keepAlive(key, ttl)
  if rcall("PTTL", key) < ttl then rcall("PEXPIRE", key, ttl) end
end
`;

/**
 * Admits a download or says why not, in one step so no two workers can both take the last slot.
 * KEYS: host slots, host cooldown, host AIMD state, host next start, key slots, the job's hash.
 * ARGV: holder, slot TTL, host limit, key limit (0: none), ms between starts on the host (0: no rate),
 *       host, wait base ms, wait max ms, jitter in [0, 1), the job's wait field, its wait-count field,
 *       its control field.
 * Returns {"ok", now}, {reason, waitMs}, or {"controlled", 0} for a job with a pause or cancel
 * recorded: it is let through without a slot, for the processor to carry that out (refused, it would
 * go round the delayed set for as long as the host is full, its cancel never done). A refusal counts on the job (the next wait doubles up to
 * the max) and records why it waits (WAIT_FIELD, shown by the API); admission clears both.
 */
/** The host's limit now (0: none), the configured one or AIMD's lowered one, after dropping its expired slots. */
const HOST_LIMIT_NOW = `
local function hostLimitNow(hostSlots, aimd, hostMax)
  rcall("ZREMRANGEBYSCORE", hostSlots, "-inf", now)
  local lowered = tonumber(rcall("HGET", aimd, "limit"))
  if lowered and (hostMax == 0 or lowered < hostMax) then return lowered end
  return hostMax
end
`;

export const ACQUIRE = `${NOW}${KEEP_ALIVE}${HOST_LIMIT_NOW}
local hostSlots, cooldown, aimd, nextStart, keySlots, jobKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local holder, ttl, hostMax, keyMax, interval = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local host, waitBase, waitMax, jitter = ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local waitField, waitsField, controlField = ARGV[10], ARGV[11], ARGV[12]

if rcall("HEXISTS", jobKey, controlField) == 1 then return { "controlled", 0 } end

local function refuse(reason, atLeast)
  local waits = 1
  local exists = rcall("EXISTS", jobKey) == 1
  if exists then waits = rcall("HINCRBY", jobKey, waitsField, 1) end
  local backoff = math.min(waitMax, waitBase * 2 ^ math.min(waits - 1, 30))
  -- Half fixed, half random, so jobs refused together come back spread out.
  local wait = math.max(atLeast, math.floor(backoff / 2 + backoff / 2 * jitter))
  if exists then rcall("HSET", jobKey, waitField, cjson.encode({ reason = reason, host = host, ["until"] = now + wait })) end
  return { reason, wait }
end

local closedUntil = tonumber(rcall("GET", cooldown))
if closedUntil and closedUntil > now then
  -- Up to 10 % later than the cooldown, like a Retry-After retry, so the host is not met by all its jobs at once.
  local left = closedUntil - now
  return refuse("host-cooldown", left + math.floor(left * 0.1 * jitter))
end

local limit = hostLimitNow(hostSlots, aimd, hostMax)
if limit > 0 and rcall("ZCARD", hostSlots) >= limit then return refuse("host-limit", 0) end

if keyMax > 0 then
  rcall("ZREMRANGEBYSCORE", keySlots, "-inf", now)
  if rcall("ZCARD", keySlots) >= keyMax then return refuse("key-limit", 0) end
end

if interval > 0 then
  local nextAt = tonumber(rcall("GET", nextStart))
  if nextAt and nextAt > now then return refuse("host-rate", nextAt - now) end
  rcall("SET", nextStart, now + interval, "PX", interval)
end

-- Every running download is counted, limited or not: a cut after backpressure halves what is in flight.
rcall("ZADD", hostSlots, now + ttl, holder)
keepAlive(hostSlots, ttl)
if keyMax > 0 then
  rcall("ZADD", keySlots, now + ttl, holder)
  keepAlive(keySlots, ttl)
end
rcall("HDEL", jobKey, waitsField, waitField)
return { "ok", nowUs }
`;

/**
 * Takes what is free of a host's slots for an admitted download's extra connections (its
 * segments), without waiting and without a refusal: none free is an answer, not a wait.
 * KEYS: host slots, host AIMD state, host cooldown for the download's API key. ARGV: slot TTL,
 * host limit (0: none), then one holder per connection wanted. The first holders get the slots;
 * returns how many did. They count like downloads (a new download waits while they hold the host)
 * and expire like them. A host cooling down grants none: it asked this key's downloads to wait.
 */
export const ACQUIRE_EXTRA = `${NOW}${KEEP_ALIVE}${HOST_LIMIT_NOW}
local hostSlots, aimd, cooldown = KEYS[1], KEYS[2], KEYS[3]
local ttl, hostMax = tonumber(ARGV[1]), tonumber(ARGV[2])
local wanted = #ARGV - 2
local closedUntil = tonumber(rcall("GET", cooldown))
if closedUntil and closedUntil > now then return 0 end
local limit = hostLimitNow(hostSlots, aimd, hostMax)
local granted = wanted
if limit > 0 then granted = math.max(0, math.min(wanted, limit - rcall("ZCARD", hostSlots))) end
for i = 1, granted do rcall("ZADD", hostSlots, now + ttl, ARGV[i + 2]) end
if granted > 0 then keepAlive(hostSlots, ttl) end
return granted
`;

/**
 * Pushes back the expiry of the slots this worker holds. An entry that expired meanwhile
 * (this worker was cut off from Redis) is put back: the download is running, and it counts.
 * KEYS: slot sets; ARGV: slot TTL, then the holder for each key, in the same order.
 */
export const RENEW = `${NOW}${KEEP_ALIVE}
local ttl = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  rcall("ZADD", key, now + ttl, ARGV[i + 1])
  keepAlive(key, ttl)
end
return #KEYS
`;

/**
 * Frees a download's slots, and learns from how it ended.
 * KEYS: host slots, key slots, host AIMD state, host cooldown.
 * ARGV: holder, outcome ("completed", "backpressure" or "other"), host limit (0: none),
 *       when the download was admitted (Redis µs, as acquiring answered it; 0: before any cut), cooldown ms (0: none), how long a cut
 *       is remembered, how many of the host's downloads the releasing worker runs without a slot in Redis yet (counted as in flight).
 * Backpressure closes the host for the cooldown (never shortening one already set) and halves the
 * host's limit (floor 1) — once per round: a download admitted before the last cut saw the old limit,
 * and its 429 is the same overload, not a new one. Each completed download counts towards the next
 * +1, one per current limit's worth (TCP's congestion avoidance); reaching the configured limit again
 * forgets the cut. Returns {the host's limit after a cut (0: no cut), cooldown ms set (0: none)}.
 */
export const RELEASE = `${NOW}
local hostSlots, keySlots, aimd, cooldown = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local holder, outcome, hostMax, admittedAt = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local cooldownMs, memoryMs, notInRedis = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local cutTo, closedFor = 0, 0
if outcome == "backpressure" then
  if cooldownMs > 0 then
    local closedUntil = tonumber(rcall("GET", cooldown)) or 0
    if closedUntil < now + cooldownMs then
      rcall("SET", cooldown, now + cooldownMs, "PX", cooldownMs)
      closedFor = cooldownMs
    end
  end
  if admittedAt >= (tonumber(rcall("HGET", aimd, "cutAt")) or 0) then
    local current = tonumber(rcall("HGET", aimd, "limit"))
    if not current then
      local inFlight = rcall("ZCARD", hostSlots) + notInRedis
      current = (hostMax > 0 and math.min(hostMax, math.max(inFlight, 1))) or math.max(inFlight, 1)
    end
    cutTo = math.max(1, math.floor(current / 2))
    rcall("HSET", aimd, "limit", cutTo, "wins", 0, "cutAt", nowUs)
    rcall("PEXPIRE", aimd, memoryMs)
  end
elseif outcome == "completed" then
  local limit = tonumber(rcall("HGET", aimd, "limit"))
  if limit and rcall("HINCRBY", aimd, "wins", 1) >= limit then
    if hostMax > 0 and limit + 1 >= hostMax then rcall("DEL", aimd) else rcall("HSET", aimd, "limit", limit + 1, "wins", 0) end
  end
end
rcall("ZREM", hostSlots, holder)
rcall("ZREM", keySlots, holder)
return { cutTo, closedFor }
`;
