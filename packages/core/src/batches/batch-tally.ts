/**
 * A batch's counts kept as it goes, so reading them costs the same for 10 members
 * as for 10,000. Each member's last known state and byte figures are kept in the
 * batch's `states` hash as `<state>:<received>:<expected>` (expected empty when
 * unknown). Every member is written there at creation (queued, or delayed when it
 * starts later); in a batch from an earlier build (its TALLIED_FIELD is '1', not
 * EVERY_MEMBER_TALLIED) only delayed members were, and one not there is queued. The batch hash holds, beside its own fields,
 * the sum over members: `n:<state>` counts, `received`, `expected` (of the members
 * whose size is known) and `unknown` (how many are not).
 *
 * Active members are not recorded: the read finds them in BullMQ's active list,
 * which is as long as all workers' concurrency at most, picks out this batch's members
 * with one HMGET of the states hash (not a read of each active job), takes them out of
 * the state the tally has for them and adds their live progress. So taking a member costs a
 * worker nothing here, and a stalled member counts as queued again at once.
 *
 * Other moves are recorded by whoever makes them: the worker when an attempt ends,
 * is paused or is handed back (through the outbox, so a worker's death does not
 * lose an end), the API when it pauses, resumes, cancels or retries one. Recording
 * the state a member already has changes nothing, so a move reported twice is harmless.
 */

import { LUA_ENDED_STATES } from './lua-ended-states.js';

/** Field of a batch hash that says its counts are kept here (batches from before are counted by walking their members). */
export const TALLIED_FIELD = 'tallied';
/** Its value when every member has an entry in the states hash from creation on. */
export const EVERY_MEMBER_TALLIED = '2';

/** The counted states, in the order TALLY_SUMMARY returns them. */
export const TALLIED_STATES = ['queued', 'active', 'delayed', 'paused', 'completed', 'failed', 'cancelled'] as const;

const SUMS = [...TALLIED_STATES.map((state) => `n:${state}`), 'received', 'expected', 'unknown'];
const luaList = (names: readonly string[]) => names.map((n) => `'${n}'`).join(', ');

/** Moving a member in the sums: `uncount` takes out its recorded `<state>:<received>:<expected>` entry, `count` adds it in a state (expected nil = unknown). */
const MOVE = `
local function uncount(sums, entry)
  local s, r, e = string.match(entry, '^([^:]*):([^:]*):(.*)$')
  sums['n:' .. s] = sums['n:' .. s] - 1
  sums['received'] = sums['received'] - tonumber(r)
  if e == '' then sums['unknown'] = sums['unknown'] - 1 else sums['expected'] = sums['expected'] - tonumber(e) end
end
local function count(sums, state, received, expected)
  sums['n:' .. state] = sums['n:' .. state] + 1
  sums['received'] = sums['received'] + received
  if expected == nil then sums['unknown'] = sums['unknown'] + 1 else sums['expected'] = sums['expected'] + expected end
end
`;

/**
 * Records that a member is now in `state` (not active), with these bytes, and moves
 * the sums: one read and one write of the batch hash. An ended state (completed,
 * failed, cancelled) is also its outcome: when no member is left unfinished, the
 * batch has ended: finishedAt is stamped, the keys expire with the jobs' retention,
 * and the first time only the reply is `ended`, so exactly one completion callback
 * is queued however often the batch ends again after retries. Any other state
 * reopens an ended batch (a retried member runs again).
 * A batch from an earlier build keeps its outcomes hash as it did.
 *
 * A member recorded `delayed` whose job has a pause recorded is paused: read here, in the same
 * step, so a pause the API records meanwhile is not undone by a worker reporting a retry's wait.
 * Only a retry moves an ended member back: a move's record (ARGV[8] = '1') that comes after the
 * member ended is of a move made before the end (a resumed member a worker took and finished
 * first), and changes nothing.
 *
 * KEYS: batch hash, outcomes hash, members list, states hash, the member's job hash.
 * ARGV: member id, state, received, expected ('' = unknown), now (ms), ttl (s, 0 = keep), the job's control field,
 * '1' for a move ('0' for a retry).
 * Returns `missing`, `recorded`, `ended` or `ended-again`.
 */
export const RECORD_MEMBER_STATE = `${MOVE}${LUA_ENDED_STATES}
local rcall = redis.call
local batch, outcomes, states = KEYS[1], KEYS[2], KEYS[4]
local id, state, received, expected = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if state == 'delayed' and rcall('HGET', KEYS[5], ARGV[7]) == 'pause' then state = 'paused' end
local ended = ENDED[state] == true
local fields = { 'size', 'finishedAt', '${TALLIED_FIELD}', ${luaList(SUMS)} }
local values = rcall('HMGET', batch, unpack(fields))
if not values[1] then return 'missing' end
local size, finishedAt = tonumber(values[1]), values[2]
local remaining
if values[3] then
  local sums = {}
  for i = 4, #fields do sums[fields[i]] = tonumber(values[i]) or 0 end
  local entry = state .. ':' .. received .. ':' .. expected
  local prev = rcall('HGET', states, id) or 'queued:0:'
  local ps = string.match(prev, '^[^:]*')
  if not ended and ENDED[ps] and ARGV[8] == '1' then return 'recorded' end
  if prev ~= entry then
    uncount(sums, prev)
    count(sums, state, tonumber(received), tonumber(expected))
    local write = {}
    for name, value in pairs(sums) do
      table.insert(write, name)
      table.insert(write, string.format('%d', value))
    end
    rcall('HSET', batch, unpack(write))
    rcall('HSET', states, id, entry)
  end
  if not ended then
    if ENDED[ps] then
      -- A retried member runs again: the batch has not ended, nor is it cancelled (a second DELETE cancels it again).
      rcall('HDEL', batch, 'finishedAt', 'cancelled')
      for i = 1, 4 do rcall('PERSIST', KEYS[i]) end
    end
    return 'recorded'
  end
  remaining = size
  for s in pairs(ENDED) do remaining = remaining - sums['n:' .. s] end
else
  if not ended then
    if ARGV[8] == '1' and rcall('HEXISTS', outcomes, id) == 1 then return 'recorded' end
    rcall('HDEL', outcomes, id)
    rcall('HDEL', batch, 'finishedAt', 'cancelled')
    for i = 1, 3 do rcall('PERSIST', KEYS[i]) end
    return 'recorded'
  end
  rcall('HSET', outcomes, id, state .. ':' .. received)
  remaining = size - rcall('HLEN', outcomes)
end
if remaining > 0 or finishedAt then return 'recorded' end
rcall('HSET', batch, 'finishedAt', ARGV[5])
local ttl = tonumber(ARGV[6])
if ttl > 0 then
  for i = 1, 4 do rcall('EXPIRE', KEYS[i], ttl) end
end
if rcall('HSETNX', batch, 'ended', '1') == 1 then return 'ended' end
return 'ended-again'
`;

/**
 * The batch's counts (in TALLIED_STATES order), then received, expected and
 * unknown, with its active members taken out of their recorded state and counted
 * active with their live progress. The active ids are looked up in the states hash,
 * which holds every member of a batch with EVERY_MEMBER_TALLIED, a thousand at a time
 * (Lua's unpack has a limit). In an earlier build's batch each active job's data is read
 * instead: it names its batch as `"batchId":"<id>"` (the API writes it with JSON.stringify;
 * a quote inside a string value is escaped).
 *
 * KEYS: batch hash, states hash, the downloads queue's active list.
 * ARGV: job key prefix (`<prefix>:<queue>:`), batch id, '1' when every member is in the states hash.
 */
export const TALLY_SUMMARY = `${MOVE}${LUA_ENDED_STATES}
local rcall = redis.call
local names = { ${luaList(SUMS)} }
local values = rcall('HMGET', KEYS[1], unpack(names))
local sums = {}
for i, name in ipairs(names) do sums[name] = tonumber(values[i]) or 0 end
local function countActive(id, prev)
  local ps = string.match(prev, '^[^:]*')
  if ENDED[ps] then return end
  uncount(sums, prev)
  local raw = rcall('HGET', ARGV[1] .. id, 'progress')
  local ok, p = false, nil
  if raw then ok, p = pcall(cjson.decode, raw) end
  if ok and type(p) == 'table' then
    count(sums, 'active', tonumber(p.receivedBytes) or 0, tonumber(p.totalBytes))
  else
    count(sums, 'active', 0, nil)
  end
end
local active = rcall('LRANGE', KEYS[3], 0, -1)
if ARGV[3] == '1' then
  for from = 1, #active, 1000 do
    local ids = {}
    for i = from, math.min(from + 999, #active) do ids[#ids + 1] = active[i] end
    local recorded = rcall('HMGET', KEYS[2], unpack(ids))
    for i, id in ipairs(ids) do
      if recorded[i] then countActive(id, recorded[i]) end
    end
  end
else
  local mark = '"batchId":"' .. ARGV[2] .. '"'
  for _, id in ipairs(active) do
    local data = rcall('HGET', ARGV[1] .. id, 'data')
    if data and string.find(data, mark, 1, true) then countActive(id, rcall('HGET', KEYS[2], id) or 'queued:0:') end
  end
end
local out = {}
for i, name in ipairs(names) do out[i] = sums[name] end
return out
`;
