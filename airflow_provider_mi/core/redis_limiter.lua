-- One endpoint's rate limit shared through Redis: the slots of core/limiter.py, kept in Redis.
--
-- A limit of N calls per period is N slots. A slot is either free from a time on (the sorted set
-- <prefix>:free, slot -> when it may be used) or held by one call (<prefix>:held, member ->
-- when its lease runs out). A call takes the earliest slot, waits until it may be used, and gives
-- it back once its answer came: free again one period later. A slot whose holder never gives it
-- back (killed) is taken back when its lease runs out, as if the call had been answered then.
-- When no slot is free, callers queue (<prefix>:queue, with a deadline each in <prefix>:waiting)
-- and the slot given back next is handed to the first of them through its list <prefix>:wake:<id>,
-- on which it blocks (BLPOP): no polling. Every time is Redis's own clock.
--
-- KEYS[1]: the prefix. ARGV[1]: the operation; ARGV[2]: the period (s); ARGV[3]: the lease (s).
--   acquire   ARGV[4] calls, ARGV[5] waiter id, ARGV[6] deadline (s from now), ARGV[7] block (s)
--             -> {"go", delay, member, calls} or {"wait", seconds to block, id, calls}
--   heartbeat ARGV[4] waiter id, ARGV[5] deadline, ARGV[6] block
--             -> {"go", delay, member} | {"wait", seconds to block} | {"lost"}
--   abandon   ARGV[4] waiter id                     -> 1
--   release   ARGV[4] member, ARGV[5] "1" if used   -> 1 if the slot was still held, else 0
-- Numbers go back as strings: Redis would truncate Lua's floats to integers.
local prefix = KEYS[1]
local free, held, queue = prefix .. ':free', prefix .. ':held', prefix .. ':queue'
local waiting, meta, limits = prefix .. ':waiting', prefix .. ':meta', prefix .. ':limits'
local op, period, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
-- How long a limit some process declared stays in force after its last call (s).
local DECLARATION_SECONDS = 600
-- Every key expires this long after its last use: by then every slot would be free anyway.
local TTL_SECONDS = math.ceil(period + lease) + 3600

local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000

local function seconds(value)
  return string.format('%.6f', value)
end

-- A held slot's member: "<slot>|<when it was free from>|<nonce>".
local function parse(member)
  local slot, free_at = string.match(member, '^([^|]+)|([^|]+)|')
  return slot, tonumber(free_at)
end

-- Hold a slot for one call; returns its member and the seconds until it may be used.
local function hold(slot, free_at)
  local start = math.max(now, free_at)
  local member = slot .. '|' .. seconds(free_at) .. '|' .. redis.call('HINCRBY', meta, 'nonce', 1)
  redis.call('ZADD', held, start + lease, member)
  return member, start - now
end

-- Hand a slot, free from free_at, to the first waiter still waiting, or keep it free.
local function give(slot, free_at)
  local retire = tonumber(redis.call('HGET', meta, 'retire') or '0')
  if retire > 0 then
    redis.call('HINCRBY', meta, 'retire', -1)
    return
  end
  while true do
    local id = redis.call('LPOP', queue)
    if not id then break end
    local deadline = tonumber(redis.call('ZSCORE', waiting, id))
    redis.call('ZREM', waiting, id)
    if deadline and deadline >= now then
      local member, delay = hold(slot, free_at)
      local wake = prefix .. ':wake:' .. id
      redis.call('RPUSH', wake, seconds(delay) .. '|' .. member)
      redis.call('EXPIRE', wake, TTL_SECONDS)
      return
    end
  end
  redis.call('ZADD', free, free_at, slot)
end

local function release(member, used)
  if redis.call('ZREM', held, member) == 0 then
    return 0 -- its lease ran out and the slot was taken back
  end
  local slot, free_at = parse(member)
  if used then free_at = now + period end
  give(slot, free_at)
  return 1
end

-- A waiter's handed slot, if any: {"go", delay, member}.
local function handed(id)
  local message = redis.call('LPOP', prefix .. ':wake:' .. id)
  if not message then return nil end
  local delay, member = string.match(message, '^([^|]+)|(.+)$')
  return {'go', delay, member}
end

-- Take back the slots whose holder vanished: free one period after their lease ran out.
local function reclaim()
  local expired = redis.call('ZRANGEBYSCORE', held, '-inf', now, 'WITHSCORES', 'LIMIT', 0, 100)
  for i = 1, #expired, 2 do
    redis.call('ZREM', held, expired[i])
    give(parse(expired[i]), tonumber(expired[i + 1]) + period)
  end
end

-- Seconds a queued caller may block before it must say it still waits: at most the wait, and no
-- later than the first lease runs out (its slot is then taken back: someone must ask).
local function block_for(wait)
  local first = redis.call('ZRANGE', held, 0, 0, 'WITHSCORES')
  if #first == 0 then return seconds(wait) end
  return seconds(math.max(0.01, math.min(wait, tonumber(first[2]) - now + 0.01)))
end

local function touch()
  for _, key in ipairs({free, held, queue, waiting, meta, limits}) do
    redis.call('EXPIRE', key, TTL_SECONDS)
  end
end

if op == 'release' then
  return release(ARGV[4], ARGV[5] == '1')
end

if op == 'heartbeat' then
  local id = ARGV[4]
  reclaim()
  local go = handed(id)
  if go then return go end
  if redis.call('ZSCORE', waiting, id) then
    redis.call('ZADD', waiting, now + tonumber(ARGV[5]), id)
    return {'wait', block_for(tonumber(ARGV[6]))}
  end
  return {'lost'}
end

if op == 'abandon' then
  local id = ARGV[4]
  redis.call('LREM', queue, 1, id)
  redis.call('ZREM', waiting, id)
  local go = handed(id)
  redis.call('DEL', prefix .. ':wake:' .. id)
  if go then release(go[3], false) end
  return 1
end

-- acquire. First the limit in force: the strictest any process declared lately.
redis.call('ZADD', limits, now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', limits, '-inf', now - DECLARATION_SECONDS)
local calls = nil
for _, declared in ipairs(redis.call('ZRANGE', limits, 0, -1)) do
  local value = tonumber(declared)
  if calls == nil or value < calls then calls = value end
end

reclaim()

-- As many slots as the limit allows: new ones are free now (a first use, or Redis lost its data);
-- surplus ones go, those whose last call is oldest first, or when given back if all are held.
local retire = tonumber(redis.call('HGET', meta, 'retire') or '0')
local live = redis.call('ZCARD', free) + redis.call('ZCARD', held) - retire
if live < calls then
  local revived = math.min(calls - live, retire)
  if revived > 0 then redis.call('HINCRBY', meta, 'retire', -revived) end
  for _ = 1, calls - live - revived do
    give('s' .. redis.call('HINCRBY', meta, 'next', 1), now)
  end
elseif live > calls then
  local dropped = #redis.call('ZPOPMIN', free, live - calls) / 2
  if live - calls > dropped then redis.call('HINCRBY', meta, 'retire', live - calls - dropped) end
end

-- Free slots go to those queued first; waiters whose deadline passed are dropped on the way.
while redis.call('LLEN', queue) > 0 do
  local first = redis.call('ZPOPMIN', free)
  if #first == 0 then break end
  give(first[1], tonumber(first[2]))
end
touch()

if redis.call('LLEN', queue) == 0 then
  local first = redis.call('ZPOPMIN', free)
  if #first > 0 then
    local member, delay = hold(first[1], tonumber(first[2]))
    return {'go', seconds(delay), member, tostring(calls)}
  end
end
local id = ARGV[5]
redis.call('RPUSH', queue, id)
redis.call('ZADD', waiting, now + tonumber(ARGV[6]), id)
return {'wait', block_for(tonumber(ARGV[7])), id, tostring(calls)}
