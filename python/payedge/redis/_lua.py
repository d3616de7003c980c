"""Lua sources of the Redis twins (SPEC 2.4), shared by the sync and asyncio clients.

Every operation is one script, so it is atomic on the server. Clocks come from
Redis ``TIME`` inside the script (integer microseconds, exact in Lua's
doubles); fencing tokens come from ``INCR``. Numbers that go back into Redis
are formatted with ``%d`` (Lua's ``tostring`` would round them to 14 digits).

Errors are returned as ``{"err", kind, code, message, param_or_token}``
rather than raised, so that the effects of the lazy expiry that ran first stay
(Redis does not roll a script back) and the caller gets a typed error.
"""

from __future__ import annotations

# KEYS of every queue script, in this order (see queue.py).
QUEUE_KEYS = ("q", "quser", "qseq", "lease", "plea", "ulock", "term", "exp", "back", "front", "tok")

# Shared by every script: integer formatting and the Redis clock (microseconds).
_COMMON = """
local function fmt(n) return string.format('%d', n) end
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
"""

_QUEUE_PRELUDE = (
    _COMMON
    + """
local Q, QUSER, QSEQ, LEASE, PLEA, ULOCK, TERM, EXP, BACK, FRONT, TOK =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11]
local TTL = tonumber(ARGV[1])

local function err(kind, code, message, extra)
  return {'err', kind, code, message, extra or ''}
end
local function stale(tok)
  return err('stale', 'stale_lease',
    'lease token ' .. tok .. ' is stale (expired, completed, canceled or unknown)', tok)
end
local function reply(tok, rec) return {tok, rec.p, rec.u, rec.t, rec.e} end

-- End a lease: free its terminal and user; the payment's fate is the caller's.
local function end_lease(tok)
  local raw = redis.call('HGET', LEASE, tok)
  if not raw then return nil end
  local rec = cjson.decode(raw)
  redis.call('HDEL', LEASE, tok)
  redis.call('ZREM', EXP, tok)
  redis.call('HDEL', TERM, rec.t)
  redis.call('HDEL', ULOCK, rec.u)
  redis.call('HDEL', PLEA, rec.p)
  return rec
end

-- End every lease with now >= expires_at; their payments go back to the
-- front of the queue in original enqueue order (keys below every key so far).
local function expire_due(now)
  local ended = {}
  for _, tok in ipairs(redis.call('ZRANGEBYSCORE', EXP, '-inf', fmt(now))) do
    local rec = end_lease(tok)
    if rec then rec.k = tok; ended[#ended + 1] = rec end
  end
  if #ended == 0 then return ended end
  table.sort(ended, function(a, b) return tonumber(a.s) < tonumber(b.s) end)
  local first = redis.call('DECRBY', FRONT, #ended)
  for i, rec in ipairs(ended) do
    redis.call('ZADD', Q, fmt(first + i - 1), rec.p)
    redis.call('HSET', QUSER, rec.p, rec.u)
    redis.call('HSET', QSEQ, rec.p, rec.s)
  end
  return ended
end

local function check_id(field, value)
  if value == '' then
    return err('invalid', 'invalid_argument', field .. ': must be a non-empty string', field)
  end
end
"""
)


def _queue_script(body: str, *, lazy_expiry: bool = True) -> str:
    """A queue script: the prelude, then (for calls that take a clock) the
    lazy expiry that every such call runs first, then `body`."""
    return _QUEUE_PRELUDE + ("local now = clock()\nexpire_due(now)\n" if lazy_expiry else "") + body


ENQUEUE = _queue_script(
    """
local pid, user = ARGV[2], ARGV[3]
local bad = check_id('payment_id', pid) or check_id('user_id', user)
if bad then return bad end
local queued_for = redis.call('HGET', QUSER, pid)
if queued_for then
  if queued_for ~= user then
    return err('invalid', 'invalid_argument',
      'user_id: payment ' .. pid .. ' is already queued for user ' .. queued_for, 'user_id')
  end
  return {'ok', redis.call('ZRANK', Q, pid) + 1}
end
local tok = redis.call('HGET', PLEA, pid)
if tok then
  return err('queue', 'already_allocated', 'payment ' .. pid .. ' holds terminal lease ' .. tok)
end
local key = redis.call('INCR', BACK)
redis.call('ZADD', Q, fmt(key), pid)
redis.call('HSET', QUSER, pid, user)
redis.call('HSET', QSEQ, pid, fmt(key))
return {'ok', redis.call('ZCARD', Q)}
"""
)

ALLOCATE = _queue_script(
    """
local terminal = ARGV[2]
if ARGV[3] ~= '1' then
  return err('queue', 'unknown_terminal',
    'terminal ' .. terminal .. ' is not one of this queue\\'s terminals')
end
local busy = redis.call('HGET', TERM, terminal)
if busy then
  return err('queue', 'terminal_busy', 'terminal ' .. terminal .. ' is busy with lease ' .. busy)
end
-- oldest queued payment whose user holds no live lease
local start = 0
while true do
  local batch = redis.call('ZRANGE', Q, start, start + 63)
  if #batch == 0 then return {'ok'} end
  for _, pid in ipairs(batch) do
    local user = redis.call('HGET', QUSER, pid)
    if redis.call('HEXISTS', ULOCK, user) == 0 then
      local seq = redis.call('HGET', QSEQ, pid)
      redis.call('ZREM', Q, pid)
      redis.call('HDEL', QUSER, pid)
      redis.call('HDEL', QSEQ, pid)
      local tok = redis.call('INCR', TOK)
      local rec = {p = pid, u = user, t = terminal, e = fmt(now + TTL), s = seq}
      redis.call('HSET', LEASE, tok, cjson.encode(rec))
      redis.call('ZADD', EXP, rec.e, tok)
      redis.call('HSET', TERM, terminal, tok)
      redis.call('HSET', ULOCK, user, tok)
      redis.call('HSET', PLEA, pid, tok)
      return {'ok', reply(tok, rec)}
    end
  end
  start = start + #batch
end
"""
)

COMPLETE = _queue_script(
    """
if not end_lease(ARGV[2]) then return stale(ARGV[2]) end
return {'ok'}
"""
)

EXTEND = _queue_script(
    """
local tok = ARGV[2]
local raw = redis.call('HGET', LEASE, tok)
if not raw then return stale(tok) end
local rec = cjson.decode(raw)
rec.e = fmt(math.max(tonumber(rec.e), now + TTL))
redis.call('HSET', LEASE, tok, cjson.encode(rec))
redis.call('ZADD', EXP, rec.e, tok)
return {'ok', rec.e}
"""
)

CANCEL = _queue_script(
    """
local pid = ARGV[2]
if redis.call('HEXISTS', QUSER, pid) == 1 then
  redis.call('ZREM', Q, pid)
  redis.call('HDEL', QUSER, pid)
  redis.call('HDEL', QSEQ, pid)
  return {'ok', 1}
end
local tok = redis.call('HGET', PLEA, pid)
if tok and end_lease(tok) then return {'ok', 1} end
return {'ok', 0}
""",
    lazy_expiry=False,
)

EXPIRE = _queue_script(
    """
local out = {}
for _, rec in ipairs(expire_due(clock())) do out[#out + 1] = reply(rec.k, rec) end
return {'ok', out}
""",
    lazy_expiry=False,
)

SNAPSHOT = _queue_script(
    """
local terminals = {}
for i = 2, #ARGV do
  local tok = redis.call('HGET', TERM, ARGV[i])
  local raw = tok and redis.call('HGET', LEASE, tok)
  terminals[#terminals + 1] = raw and reply(tok, cjson.decode(raw)) or {}
end
return {'ok', redis.call('ZRANGE', Q, 0, -1), terminals}
""",
    lazy_expiry=False,
)

# Lease locks: KEYS = {lock key, token counter}; the value is "token:expires_us".
_LOCK_PRELUDE = (
    _COMMON
    + """
local KEY, TOK = KEYS[1], KEYS[2]
local TTL = tonumber(ARGV[1])
-- Redis drops the key itself a millisecond after the lease's logical expiry.
local function store(tok, expires)
  redis.call('SET', KEY, tok .. ':' .. fmt(expires), 'PXAT', fmt(math.floor(expires / 1000) + 1))
end
local function held()
  local v = redis.call('GET', KEY)
  if not v then return nil end
  local tok, expires = string.match(v, '^(%d+):(%d+)$')
  return tok, tonumber(expires)
end
"""
)

LOCK_ACQUIRE = (
    _LOCK_PRELUDE
    + """
local now = clock()
local _, expires = held()
if expires and now < expires then return false end
local tok = redis.call('INCR', TOK)
store(fmt(tok), now + TTL)
return tok
"""
)

LOCK_RELEASE = (
    _LOCK_PRELUDE
    + """
local now = clock()
local tok, expires = held()
if tok ~= ARGV[2] then return 0 end
redis.call('DEL', KEY)
if now < expires then return 1 end
return 0
"""
)

LOCK_EXTEND = (
    _LOCK_PRELUDE
    + """
local now = clock()
local tok, expires = held()
if tok ~= ARGV[2] or now >= expires then return 0 end
store(tok, math.max(expires, now + TTL))
return 1
"""
)
