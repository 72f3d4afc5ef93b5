import { LuaScript } from './lua-script.js';

/*
 * The queue's Redis layout, all under the app's prefix:
 *   queue:waiting     sorted set, token → arrival number (INCR of queue:seq, never a
 *                     clock: clock scores tie within a millisecond and across machines)
 *   queue:seen        sorted set, WAITING token → when its user last asked for it, ms
 *                     (issue or current): the absent are one ZRANGEBYSCORE away
 *   queue:active      sorted set, token → expiry, ms
 *   queue:token-user  hash, token → user     } O(1) both ways,
 *   queue:user-token  hash, user → live token } never a scan
 *   queue:seq         the arrival counter
 *   queue:admitted    tokens ever admitted, for the admission rate
 *   queue:spent:<token>  hash {user, expiresAt}: an ACTIVE token payment spent, kept
 *                     (not live) until its ACTIVE expiry so that a retried payment can
 *                     replay; PEXPIRE'd to that same instant, so it never outlives it
 * A token is live while it is in waiting, or in active with an expiry after now.
 * A token is in seen exactly while it is in waiting.
 * A spent token is in none of the others: it holds no slot and no user.
 * A token dropped (absent), given back (leave) or expired is in none of them.
 * Every script takes `now` from the caller (the app's clock), never Redis TIME.
 * Redis Cluster would need one hash tag on all of these (each script touches several).
 */

/**
 * Get the user's live token, or queue the candidate: atomic, so two requests
 * of one user racing end with one token. A WAITING token, returned or new,
 * is marked seen at now (ZADD GT: a caller whose clock lags never moves a
 * sighting back).
 * KEYS waiting, active, seq, token-user, user-token, seen; ARGV userId, candidate, now.
 * → {token, created 0|1, 'WAITING', position} or {token, 0, 'ACTIVE', expiresAt}
 */
export const ISSUE = new LuaScript(`
local existing = redis.call('hget', KEYS[5], ARGV[1])
if existing then
  local rank = redis.call('zrank', KEYS[1], existing)
  if rank then
    redis.call('zadd', KEYS[6], 'GT', ARGV[3], existing)
    return {existing, 0, 'WAITING', rank + 1}
  end
  local expiresAt = redis.call('zscore', KEYS[2], existing)
  if expiresAt and tonumber(expiresAt) > tonumber(ARGV[3]) then return {existing, 0, 'ACTIVE', expiresAt} end
  -- Expired, and no admission round has dropped it yet: forget it, the user queues again.
  redis.call('zrem', KEYS[2], existing)
  redis.call('hdel', KEYS[4], existing)
end
local seq = redis.call('incr', KEYS[3])
redis.call('zadd', KEYS[1], seq, ARGV[2])
redis.call('zadd', KEYS[6], ARGV[3], ARGV[2])
redis.call('hset', KEYS[4], ARGV[2], ARGV[1])
redis.call('hset', KEYS[5], ARGV[1], ARGV[2])
-- Just appended: its rank is the last one, and ZCARD is O(1).
return {ARGV[2], 1, 'WAITING', redis.call('zcard', KEYS[1])}
`);

/**
 * The user's live token; a WAITING one is marked seen at now, in the same
 * step, so that a round never drops a waiter who has just asked.
 * KEYS waiting, active, user-token, seen; ARGV userId, now.
 * → {token, 'WAITING', position}, {token, 'ACTIVE', expiresAt}, or nil.
 */
export const CURRENT = new LuaScript(`
local token = redis.call('hget', KEYS[3], ARGV[1])
if not token then return false end
local rank = redis.call('zrank', KEYS[1], token)
if rank then
  redis.call('zadd', KEYS[4], 'GT', ARGV[2], token)
  return {token, 'WAITING', rank + 1}
end
local expiresAt = redis.call('zscore', KEYS[2], token)
if expiresAt and tonumber(expiresAt) > tonumber(ARGV[2]) then return {token, 'ACTIVE', expiresAt} end
return false
`);

/**
 * The user gives their token back: out of every key, no spent mark (a token
 * given back replays nothing). An ACTIVE slot is free for the very next round.
 * KEYS waiting, active, token-user, user-token, seen; ARGV userId, now.
 * → 1 when the token was live at now, else 0 (an expired one is cleared all the same).
 */
export const LEAVE = new LuaScript(`
local token = redis.call('hget', KEYS[4], ARGV[1])
if not token then return 0 end
local live = 0
if redis.call('zscore', KEYS[1], token) then live = 1 end
local expiresAt = redis.call('zscore', KEYS[2], token)
if expiresAt and tonumber(expiresAt) > tonumber(ARGV[2]) then live = 1 end
redis.call('zrem', KEYS[1], token)
redis.call('zrem', KEYS[5], token)
redis.call('zrem', KEYS[2], token)
redis.call('hdel', KEYS[3], token)
redis.call('hdel', KEYS[4], ARGV[1])
return live
`);

/**
 * An ACTIVE token lives at least until `until`; never shortened.
 * KEYS active; ARGV token, until, now.
 * → 1 when it was ACTIVE at now, else 0 (and nothing changed).
 */
export const EXTEND = new LuaScript(`
local expiresAt = redis.call('zscore', KEYS[1], ARGV[1])
if not expiresAt or tonumber(expiresAt) <= tonumber(ARGV[3]) then return 0 end
redis.call('zadd', KEYS[1], 'GT', ARGV[2], ARGV[1])
return 1
`);

/**
 * KEYS waiting, active, token-user, spent:<token>; ARGV token, now.
 * → {'WAITING', userId, position}, {'ACTIVE', userId, expiresAt},
 * {'SPENT', userId, expiresAt} until the spent token's expiry, or nil.
 * One script, so that a token moving from waiting to active in between two
 * reads is never seen in neither.
 */
export const STATUS = new LuaScript(`
local userId = redis.call('hget', KEYS[3], ARGV[1])
if not userId then
  local spent = redis.call('hmget', KEYS[4], 'user', 'expiresAt')
  -- The key's TTL runs on Redis's clock; the answer follows the caller's, exactly.
  if spent[1] and spent[2] and tonumber(spent[2]) > tonumber(ARGV[2]) then return {'SPENT', spent[1], spent[2]} end
  return false
end
local rank = redis.call('zrank', KEYS[1], ARGV[1])
if rank then return {'WAITING', userId, rank + 1} end
local expiresAt = redis.call('zscore', KEYS[2], ARGV[1])
if expiresAt and tonumber(expiresAt) > tonumber(ARGV[2]) then return {'ACTIVE', userId, expiresAt} end
return false
`);

/**
 * One admission round, atomic, so that instances running it at once can
 * neither pass the limit nor skip or repeat a waiter, and so that no waiter
 * is judged absent by one step and admitted by another. In order: drop the
 * expired ACTIVE tokens, drop the waiters last seen at or before
 * now - presenceTimeout, admit the front of what is left. Cost
 * O((admitted + expired + dropped) · log n): ZRANGEBYSCORE finds only the
 * expired and the absent, ZRANGE reads only the front of the line. Tokens go
 * to ZADD/ZREM in chunks: Lua's unpack fails past a few thousand values.
 * KEYS waiting, active, token-user, user-token, admitted, seen;
 * ARGV now, activeMax, ttlMs, presenceTimeoutMs.
 * → {admitted, expired, dropped, waiting after, admitted ever}
 */
export const ADMIT = new LuaScript(`
local CHUNK = 1000
local function forget(token)
  local userId = redis.call('hget', KEYS[3], token)
  redis.call('hdel', KEYS[3], token)
  if userId and redis.call('hget', KEYS[4], userId) == token then redis.call('hdel', KEYS[4], userId) end
end
local function inChunks(command, key, tokens)
  for first = 1, #tokens, CHUNK do
    redis.call(command, key, unpack(tokens, first, math.min(first + CHUNK - 1, #tokens)))
  end
end

local expired = redis.call('zrangebyscore', KEYS[2], '-inf', ARGV[1])
for _, token in ipairs(expired) do forget(token) end
if #expired > 0 then redis.call('zremrangebyscore', KEYS[2], '-inf', ARGV[1]) end

-- A string: Lua would format a number argument with 14 significant digits.
local cutoff = string.format('%.0f', tonumber(ARGV[1]) - tonumber(ARGV[4]))
local absent = redis.call('zrangebyscore', KEYS[6], '-inf', cutoff)
for _, token in ipairs(absent) do forget(token) end
if #absent > 0 then
  inChunks('zrem', KEYS[1], absent)
  redis.call('zremrangebyscore', KEYS[6], '-inf', cutoff)
end

local room = tonumber(ARGV[2]) - redis.call('zcard', KEYS[2])
local admitted = 0
if room > 0 then
  -- ZRANGE's end index is inclusive: 0 .. room - 1 is the first room waiters.
  local tokens = redis.call('zrange', KEYS[1], 0, room - 1)
  admitted = #tokens
  local expiresAt = string.format('%.0f', tonumber(ARGV[1]) + tonumber(ARGV[3]))
  for first = 1, admitted, CHUNK do
    local last = math.min(first + CHUNK - 1, admitted)
    local scored = {}
    for i = first, last do
      scored[#scored + 1] = expiresAt
      scored[#scored + 1] = tokens[i]
    end
    redis.call('zadd', KEYS[2], unpack(scored))
  end
  inChunks('zrem', KEYS[1], tokens)
  inChunks('zrem', KEYS[6], tokens)
end
local total = redis.call('incrby', KEYS[5], admitted)
return {admitted, #expired, #absent, redis.call('zcard', KEYS[1]), total}
`);

/**
 * Ends a token: out of waiting (and seen) or active, its user free. One
 * ACTIVE at `now` is marked spent until its expiry (the key's TTL is the
 * time left).
 * KEYS waiting, active, token-user, user-token, spent:<token>, seen; ARGV token, now.
 * → 1 when it was live at now, else 0.
 */
export const EXPIRE = new LuaScript(`
local userId = redis.call('hget', KEYS[3], ARGV[1])
if not userId then return 0 end
local live = 0
if redis.call('zscore', KEYS[1], ARGV[1]) then live = 1 end
local expiresAt = redis.call('zscore', KEYS[2], ARGV[1])
redis.call('hdel', KEYS[3], ARGV[1])
redis.call('zrem', KEYS[1], ARGV[1])
redis.call('zrem', KEYS[6], ARGV[1])
redis.call('zrem', KEYS[2], ARGV[1])
if redis.call('hget', KEYS[4], userId) == ARGV[1] then redis.call('hdel', KEYS[4], userId) end
if expiresAt then
  local left = tonumber(expiresAt) - tonumber(ARGV[2])
  if left > 0 then
    live = 1
    redis.call('hset', KEYS[5], 'user', userId, 'expiresAt', expiresAt)
    -- A string: Lua would format a number argument with 14 significant digits.
    redis.call('pexpire', KEYS[5], string.format('%.0f', left))
  end
end
return live
`);
