import { Script } from './connection.js';

/*
 * The Lua scripts. Each is atomic on the server and touches only the keys it is given, all in one hash
 * slot. Times are the caller's clock (`now` of the store interfaces); key lifetimes in Redis are set
 * relative to it (PEXPIRE / PX), so a caller whose clock differs from the server's still gets the
 * lifetimes it asked for.
 */

/** Shared Lua: reads a record's header and computes its deadline. */
const READ_RECORD = `
local function header(v)
  local nl = string.find(v, '\\n', 1, true)
  return cjson.decode(string.sub(v, 1, nl - 1))
end
local function deadline(h, lastActiveAt)
  local d = lastActiveAt + h[3]
  if h[4] ~= cjson.null and h[4] < d then d = h[4] end
  return d
end
`;

/** Sets a TTL on a key that exists, never shortening a longer one. */
const EXTEND = `
local function extend(key, ttl)
  local current = redis.call('PTTL', key)
  if current == -1 or (current >= 0 and current < ttl) then redis.call('PEXPIRE', key, ttl) end
end
`;

/**
 * touch. KEYS: record, state, event counters. ARGV: now, check principal ('1'/'0'), principal
 * ('-' for none, '=<principal>'), count a request ('1'/'0'), grace ms.
 * Returns the updated record, or false (unknown, past its deadline, other principal: nothing changed).
 */
export const TOUCH = new Script(`${READ_RECORD}${EXTEND}
local v = redis.call('GET', KEYS[1])
if not v then return false end
local h = header(v)
local now = tonumber(ARGV[1])
if deadline(h, h[1]) <= now then return false end
if ARGV[2] == '1' then
  if h[5] == cjson.null then
    if ARGV[3] ~= '-' then return false end
  elseif ARGV[3] ~= '=' .. h[5] then
    return false
  end
end
local active, count, rest = string.match(v, '^%[([^,]*),([^,]*)(,.*)$')
local last = h[1]
if now > last then
  active = ARGV[1]
  last = now
end
if ARGV[4] == '1' then count = string.format('%d', h[2] + 1) end
v = '[' .. active .. ',' .. count .. rest
local ttl = math.max(1, math.ceil(deadline(h, last) - now)) + tonumber(ARGV[5])
redis.call('SET', KEYS[1], v, 'PX', ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
extend(KEYS[3], ttl)
return v
`);

/**
 * The atomic half of takeExpired. KEYS: record, state. ARGV: now.
 * Returns {0} when the record is gone, {1, record} when it was past its deadline and this caller
 * removed it (it goes to no other caller), {2, record} when it is still live.
 */
export const TAKE = new Script(`${READ_RECORD}
local v = redis.call('GET', KEYS[1])
if not v then return {0} end
local h = header(v)
if deadline(h, h[1]) <= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1], KEYS[2])
  return {1, v}
end
return {2, v}
`);

/** delete. KEYS: record, state. Returns 1 for the one caller that removed the record. */
export const DELETE = new Script(`
local removed = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
return removed
`);

/**
 * Maintains both session indexes. KEYS: deadlines, activity. ARGV: a list of operations:
 * 'set', id, deadline, lastActiveAt (a new record) | 'raise', id, deadline, lastActiveAt (raise the
 * scores of a member that is still there) | 'del', id.
 * Returns how many activity scores changed or members were removed.
 */
export const INDEX = new Script(`
local changed = 0
local i = 1
while i <= #ARGV do
  local op, id = ARGV[i], ARGV[i + 1]
  if op == 'set' then
    redis.call('ZADD', KEYS[1], ARGV[i + 2], id)
    redis.call('ZADD', KEYS[2], ARGV[i + 3], id)
    i = i + 4
  elseif op == 'raise' then
    redis.call('ZADD', KEYS[1], 'XX', 'GT', ARGV[i + 2], id)
    changed = changed + redis.call('ZADD', KEYS[2], 'XX', 'GT', 'CH', ARGV[i + 3], id)
    i = i + 4
  else
    redis.call('ZREM', KEYS[1], id)
    changed = changed + redis.call('ZREM', KEYS[2], id)
    i = i + 2
  end
end
return changed
`);

/**
 * setState. KEYS: record, state. ARGV: key, value, now, expiresAt ('' for none), maxKeys, maxBytes.
 * Returns 0 (stored), 1 (no session), 2 (too many keys), 3 (too large). Expired values are dropped on
 * the way; the state hash lives exactly as long as the record.
 */
export const SET_STATE = new Script(`
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then return 1 end
local now = tonumber(ARGV[3])
local entries = redis.call('HGETALL', KEYS[2])
local keys, bytes = 0, 0
for i = 1, #entries, 2 do
  local name, raw = entries[i], entries[i + 1]
  local sep = string.find(raw, ':', 1, true)
  local expires = string.sub(raw, 1, sep - 1)
  if expires ~= '' and tonumber(expires) <= now then
    redis.call('HDEL', KEYS[2], name)
  elseif name ~= ARGV[1] then
    keys = keys + 1
    bytes = bytes + #name + #raw - sep
  end
end
if keys + 1 > tonumber(ARGV[5]) then return 2 end
if bytes + #ARGV[1] + #ARGV[2] > tonumber(ARGV[6]) then return 3 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4] .. ':' .. ARGV[2])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return 0
`);

/**
 * append. KEYS: event counters, stream, session record. ARGV: stream id, message JSON ('' for a marker
 * that takes a sequence and is never replayed), max events, ttl ms.
 * Returns the sequence. The counters and the stream live at least `ttl`, and at least as long as the
 * session record. A full stream drops its oldest event, whose sequence the counters hash keeps under
 * `<stream id>.dropped` (stream ids have no dot), so a resumption can tell what it missed.
 */
export const APPEND = new Script(`${EXTEND}
local seq = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
if seq == 1 then
  redis.call('DEL', KEYS[2])
  redis.call('HDEL', KEYS[1], ARGV[1] .. '.dropped')
end
if ARGV[2] ~= '' then
  if redis.call('XLEN', KEYS[2]) >= tonumber(ARGV[3]) then
    local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
    if #oldest > 0 then redis.call('HSET', KEYS[1], ARGV[1] .. '.dropped', string.sub(oldest[1][1], 3)) end
  end
  redis.call('XADD', KEYS[2], 'MAXLEN', '=', ARGV[3], '0-' .. string.format('%d', seq), 'm', ARGV[2])
end
local ttl = tonumber(ARGV[4])
local session = redis.call('PTTL', KEYS[3])
if session > ttl then ttl = session end
extend(KEYS[1], ttl)
extend(KEYS[2], ttl)
return seq
`);

/**
 * replayAfter. KEYS: event counters, stream. ARGV: stream id, sequence.
 * Returns false when the stream or the sequence is unknown, else a flat list: 1 when an event after the
 * sequence was dropped by the bound (0 otherwise), then the sequence, message pairs after it.
 * A completed stream has no counter any more: its last event, which lives until the stream expires,
 * tells its last sequence.
 */
export const REPLAY = new Script(`
local last = redis.call('HGET', KEYS[1], ARGV[1])
if not last then
  local tail = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
  if #tail == 0 then return false end
  last = string.sub(tail[1][1], 3)
end
last = tonumber(last)
local after = tonumber(ARGV[2])
if after > last then return false end
local out = { 0 }
local dropped = redis.call('HGET', KEYS[1], ARGV[1] .. '.dropped')
if dropped and tonumber(dropped) > after then out[1] = 1 end
local entries = redis.call('XRANGE', KEYS[2], '0-' .. string.format('%d', after + 1), '+')
for _, entry in ipairs(entries) do
  out[#out + 1] = string.sub(entry[1], 3)
  out[#out + 1] = entry[2][2]
end
return out
`);

/**
 * completeStream. KEYS: event counters, stream. ARGV: stream id, keep ms.
 * The stream's counter leaves the session's hash (which so holds only open streams), and the stream
 * expires `keep ms` from now, never later than it would have.
 */
export const COMPLETE = new Script(`
redis.call('HDEL', KEYS[1], ARGV[1], ARGV[1] .. '.dropped')
local keep = tonumber(ARGV[2])
local current = redis.call('PTTL', KEYS[2])
if current == -1 or current > keep then redis.call('PEXPIRE', KEYS[2], keep) end
return 1
`);

/**
 * GCRA, exactly as core's gcra(). KEYS: the limiter's key. ARGV: now, limit, window ms.
 * Returns {allowed (1/0), remaining, retryAfterMs}.
 */
export const GCRA = new Script(`
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local interval = window / limit
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then tat = math.max(tonumber(stored), now) end
local nxt = tat + interval
local allow_at = nxt - window
if now < allow_at then return {0, 0, math.ceil(allow_at - now)} end
redis.call('SET', KEYS[1], string.format('%.17g', nxt), 'PX', math.max(1, math.ceil(nxt - now)))
return {1, math.floor((window - (nxt - now)) / interval), 0}
`);

/** Every script, for tests that check what they may and may not do. */
/**
 * incr of a counter that expires, kept as "<expiresAt>:<value>" so reads honour the caller's clock as
 * cache entries do. KEYS: the counter. ARGV: ttl ms, now, expiresAt. Returns the new value.
 */
export const INCR_EXPIRE = new Script(`
local raw = redis.call('GET', KEYS[1])
local value = 0
if raw then
  local sep = string.find(raw, ':', 1, true)
  if not sep then
    value = tonumber(raw)
  elseif tonumber(string.sub(raw, 1, sep - 1)) > tonumber(ARGV[2]) then
    value = tonumber(string.sub(raw, sep + 1))
  end
end
value = value + 1
redis.call('SET', KEYS[1], ARGV[3] .. ':' .. string.format('%d', value), 'PX', ARGV[1])
return value
`);

/**
 * revoke. KEYS: the revocation. ARGV: until, now. Lists the id until `until` unless it is listed past
 * `now` already; the key expires at `until` (relative to `now`). Returns 1 for the caller that listed it.
 */
export const REVOKE = new Script(`
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) > tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', math.max(1, math.ceil(tonumber(ARGV[1]) - tonumber(ARGV[2]))))
return 1
`);

export const ALL_SCRIPTS = { TOUCH, TAKE, DELETE, INDEX, SET_STATE, APPEND, REPLAY, COMPLETE, GCRA, INCR_EXPIRE, REVOKE };
