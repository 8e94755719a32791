/**
 * A batch's counts kept as it goes, so reading them costs the same for 10 members
 * as for 10,000. Each member's last known state and byte figures are kept in the
 * batch's `states` hash as `<state>:<received>:<expected>` (expected empty when
 * unknown); a member not there yet is as it was created (queued, or delayed when it
 * starts later, written at creation). The batch hash holds, beside its own fields,
 * the sum over members: `n:<state>` counts, `received`, `expected` (of the members
 * whose size is known) and `unknown` (how many are not). An active member counts
 * 0 there: its bytes are read live from its job's progress, and the `active` set,
 * as big as the workers' concurrency at most, says whose.
 *
 * Moves are recorded by whoever makes them: the worker when it takes a member and
 * when an attempt ends (through the outbox, so a worker's death does not lose it),
 * the API when it pauses, resumes, cancels or retries one. Recording the state a
 * member already has changes nothing, so a move reported twice is harmless.
 */

/** Field of a batch hash that says its counts are kept here (batches from before are counted by walking their members). */
export const TALLIED_FIELD = 'tallied';

/**
 * Records that a member is now in `state`, with these bytes, and moves the counts.
 * An ended state (completed, failed, cancelled) is also its outcome: when every
 * member has one, the batch has ended: finishedAt is stamped, the keys expire with
 * the jobs' retention, and the first time only the reply is `ended`, so exactly one
 * completion callback is queued however often the batch ends again after retries.
 * Any other state reopens an ended batch (a retried member runs again).
 *
 * KEYS: batch hash, outcomes hash, members list, states hash, active set.
 * ARGV: member id, state, received, expected ('' = unknown), now (ms), ttl (s, 0 = keep).
 * Returns `missing`, `recorded`, `ended` or `ended-again`.
 */
export const RECORD_MEMBER_STATE = `
local rcall = redis.call
local batch, outcomes, states, active = KEYS[1], KEYS[2], KEYS[4], KEYS[5]
if rcall('EXISTS', batch) == 0 then return 'missing' end
local id, state, received, expected = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ended = state == 'completed' or state == 'failed' or state == 'cancelled'
if state == 'active' then received, expected = '0', '0' end
local entry = state .. ':' .. received .. ':' .. expected
local prev = rcall('HGET', states, id) or 'queued:0:'
if prev ~= entry and rcall('HEXISTS', batch, '${TALLIED_FIELD}') == 1 then
  local function add(field, by)
    by = tonumber(by)
    if by ~= 0 then rcall('HINCRBY', batch, field, by) end
  end
  local ps, pr, pe = string.match(prev, '^([^:]*):([^:]*):(.*)$')
  add('n:' .. ps, -1)
  add('received', -tonumber(pr))
  if pe == '' then add('unknown', -1) else add('expected', -tonumber(pe)) end
  add('n:' .. state, 1)
  add('received', received)
  if expected == '' then add('unknown', 1) else add('expected', expected) end
  rcall('HSET', states, id, entry)
  if state == 'active' then rcall('SADD', active, id) else rcall('SREM', active, id) end
end
if not ended then
  if rcall('HDEL', outcomes, id) == 1 then
    rcall('HDEL', batch, 'finishedAt')
    for i = 1, 5 do rcall('PERSIST', KEYS[i]) end
  end
  return 'recorded'
end
rcall('HSET', outcomes, id, state .. ':' .. received)
if rcall('HLEN', outcomes) < tonumber(rcall('HGET', batch, 'size')) then return 'recorded' end
if rcall('HEXISTS', batch, 'finishedAt') == 1 then return 'recorded' end
rcall('HSET', batch, 'finishedAt', ARGV[5])
local ttl = tonumber(ARGV[6])
if ttl > 0 then
  for i = 1, 5 do rcall('EXPIRE', KEYS[i], ttl) end
end
if rcall('HSETNX', batch, 'ended', '1') == 1 then return 'ended' end
return 'ended-again'
`;

/** The counted states, in the order TALLY_SUMMARY returns them. */
export const TALLIED_STATES = ['queued', 'active', 'delayed', 'paused', 'completed', 'failed', 'cancelled'] as const;

/**
 * The batch's counts (in TALLIED_STATES order), then received, expected and
 * unknown, with the active members' live progress added.
 *
 * KEYS: batch hash, active set. ARGV: job key prefix (`<prefix>:<queue>:`).
 */
export const TALLY_SUMMARY = `
local rcall = redis.call
local out = rcall('HMGET', KEYS[1], ${TALLIED_STATES.map((s) => `'n:${s}'`).join(', ')}, 'received', 'expected', 'unknown')
for i = 1, #out do out[i] = tonumber(out[i]) or 0 end
local n = #out
for _, id in ipairs(rcall('SMEMBERS', KEYS[2])) do
  local raw = rcall('HGET', ARGV[1] .. id, 'progress')
  local ok, p = false, nil
  if raw then ok, p = pcall(cjson.decode, raw) end
  if ok and type(p) == 'table' then
    out[n - 2] = out[n - 2] + (tonumber(p.receivedBytes) or 0)
    if tonumber(p.totalBytes) then out[n - 1] = out[n - 1] + tonumber(p.totalBytes) else out[n] = out[n] + 1 end
  else
    out[n] = out[n] + 1
  end
end
return out
`;
