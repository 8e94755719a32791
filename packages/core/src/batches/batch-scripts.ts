import { LUA_ENDED_STATES } from './lua-ended-states.js';

/**
 * Lua run inside Redis, so that each step reads and changes a batch, or reads
 * its members' job states, atomically.
 */

/**
 * The live state of members \`start\`..\`stop\` of a batch, four values each:
 * state, bytes received, total bytes (-1 when unknown), finishedOn (0 when not).
 * For an expired member the state is its recorded outcome, \`<state>:<bytes>\`,
 * or \`expired\` when none was recorded.
 *
 * It reads BullMQ's sets directly instead of calling getState per job:
 * getState looks for a job in the wait list with LPOS, which is O(list length),
 * so 10,000 queued members would cost 10,000 scans of a 10,000-long list. Here
 * every lookup is a ZSCORE or a hash read, and the active list, which is as
 * short as the workers' total concurrency, is read once. A job in none of the
 * sets whose hash still exists is waiting; one whose hash is gone was removed by
 * retention (\`expired\`), and its recorded outcome stands in for it.
 *
 * KEYS: members, outcomes, completed, failed, delayed, prioritized, active, states (batch-tally.ts, whose ended entries stand in for outcomes).
 * ARGV: job key prefix (\`<prefix>:<queue>:\`), start, stop, control field, the failedReason prefix of a cancel.
 */
export const MEMBER_STATES = `${LUA_ENDED_STATES}
local ids = redis.call('LRANGE', KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
local active = {}
for _, id in ipairs(redis.call('LRANGE', KEYS[7], 0, -1)) do active[id] = true end
local out = {}
local function progress(jobKey)
  local raw = redis.call('HGET', jobKey, 'progress')
  if not raw then return 0, -1 end
  local ok, p = pcall(cjson.decode, raw)
  if not ok or type(p) ~= 'table' then return 0, -1 end
  local received = tonumber(p.receivedBytes) or 0
  local total = tonumber(p.totalBytes) or -1
  return received, total
end
for _, entry in ipairs(ids) do
  local id = string.match(entry, '^[^ ]+')
  local jobKey = ARGV[1] .. id
  local state, received, total = nil, 0, -1
  if redis.call('ZSCORE', KEYS[3], id) then
    state = 'completed'
    local ok, r = pcall(cjson.decode, redis.call('HGET', jobKey, 'returnvalue') or 'null')
    if ok and type(r) == 'table' and tonumber(r.bytes) then
      received = tonumber(r.bytes)
      total = received
    else
      received, total = progress(jobKey)
    end
  elseif redis.call('ZSCORE', KEYS[4], id) then
    local reason = redis.call('HGET', jobKey, 'failedReason') or ''
    state = (string.sub(reason, 1, #ARGV[5]) == ARGV[5]) and 'cancelled' or 'failed'
    received, total = progress(jobKey)
  elseif redis.call('ZSCORE', KEYS[5], id) then
    state = (redis.call('HGET', jobKey, ARGV[4]) == 'pause') and 'paused' or 'delayed'
    received, total = progress(jobKey)
  elseif redis.call('ZSCORE', KEYS[6], id) then
    state = 'queued'
  elseif active[id] then
    state = 'active'
    received, total = progress(jobKey)
  elseif redis.call('EXISTS', jobKey) == 1 then
    state = 'queued'
    received, total = progress(jobKey)
  else
    state = redis.call('HGET', KEYS[2], id)
    if not state then
      local st, r = string.match(redis.call('HGET', KEYS[8], id) or '', '^([^:]*):([^:]*):')
      if ENDED[st] then state = st .. ':' .. r end
    end
    state = state or 'expired'
  end
  local finishedOn = 0
  if state ~= 'expired' and string.find(state, ':') == nil then
    finishedOn = tonumber(redis.call('HGET', jobKey, 'finishedOn') or '0') or 0
  end
  table.insert(out, state)
  table.insert(out, received)
  table.insert(out, total)
  table.insert(out, finishedOn)
end
return out
`;
