"""The WeChat official account's message state (channels.wechat): dedupe, the retry hold and the hand-over.

Every script works on one follower's keys (hash tag ``{w:<openid>}``): the message hash (``n`` deliveries seen,
``kind`` job|fetch, ``st`` run|done|gone, ``reply``, ``at``), the outbox list of parts waiting for the next message,
and the set of messages whose answer was promised to the next message ("still thinking" was sent).
"""

# A delivery of a message arrives: count it; the first delivery decides what the message is. A plain text that finds
# parts waiting in the outbox, or an answer promised to the next message, is a fetch (it hands that over); anything
# else is a job (its own answer).
# A fetch that finds a part waiting takes it at once when ARGV[4] is '1' (subscription mode: the part is its reply).
# KEYS[1] message hash, KEYS[2] outbox, KEYS[3] waiting set.
# ARGV[1] message TTL (s), ARGV[2] now (s), ARGV[3] '1' when the message may be a fetch, ARGV[4] '1' to take a part.
# Returns {n, kind, st, reply|false}.
WECHAT_ARRIVE = """
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
if n == 1 then
  local kind = 'job'
  if ARGV[3] == '1' and (redis.call('LLEN', KEYS[2]) > 0 or redis.call('SCARD', KEYS[3]) > 0) then
    kind = 'fetch'
  end
  redis.call('HSET', KEYS[1], 'kind', kind, 'st', 'run', 'at', ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  if kind == 'fetch' and ARGV[4] == '1' then
    local part = redis.call('LPOP', KEYS[2])
    if part then redis.call('HSET', KEYS[1], 'st', 'done', 'reply', part) end
  end
end
local state = redis.call('HMGET', KEYS[1], 'kind', 'st', 'reply')
return {n, state[1], state[2], state[3]}
"""

# A job's answer is ready (in parts). Still awaited: the first part becomes the message's reply and the rest wait in
# the outbox. Given up on ("still thinking" was sent): every part waits in the outbox. Already finished: nothing.
# KEYS[1] message hash, KEYS[2] outbox, KEYS[3] waiting set.
# ARGV[1] outbox TTL (s), ARGV[2] the message key (member of the waiting set), ARGV[3..] the parts (at least one).
# Returns 1 when the answer was placed, 0 when the message was already finished (or forgotten).
WECHAT_FINISH = """
local st = redis.call('HGET', KEYS[1], 'st')
local first
if st == 'run' then
  redis.call('HSET', KEYS[1], 'st', 'done', 'reply', ARGV[3])
  first = 4
elseif st == 'gone' then
  redis.call('SREM', KEYS[3], ARGV[2])
  first = 3
else
  return 0
end
for i = first, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end
if #ARGV >= first then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
return 1
"""

# A fetch looks for what it hands over: up to ARGV[1] parts from the outbox (the first becomes its reply). When the
# outbox is empty but an answer is promised, it waits; when nothing is left at all, the message becomes a job of its
# own (returned once, to the one caller that must start it).
# KEYS[1] message hash, KEYS[2] outbox, KEYS[3] waiting set. ARGV[1] how many parts to take.
# Returns {'done', reply} | {'taken', part...} | {'wait'} | {'start'} | {'job'} | {'gone'}.
WECHAT_TAKE = """
local state = redis.call('HMGET', KEYS[1], 'kind', 'st', 'reply')
if state[2] == 'done' then return {'done', state[3]} end
if state[2] ~= 'run' then return {'gone'} end
if state[1] ~= 'fetch' then return {'job'} end
local parts = redis.call('LPOP', KEYS[2], ARGV[1])
if parts then
  redis.call('HSET', KEYS[1], 'st', 'done', 'reply', parts[1])
  table.insert(parts, 1, 'taken')
  return parts
end
if redis.call('SCARD', KEYS[3]) > 0 then return {'wait'} end
redis.call('HSET', KEYS[1], 'kind', 'job')
return {'start'}
"""

# The last delivery WeChat makes found no reply: give up on the message. A job's answer is then promised to the
# follower's next message (FINISH puts it in the outbox); a fetch simply leaves the outbox for the next message.
# KEYS[1] message hash, KEYS[2] waiting set. ARGV[1] the message key, ARGV[2] waiting-set TTL (s).
# Returns {'done', reply} when the reply came in the meantime, else {'gone'}.
WECHAT_GIVE_UP = """
local state = redis.call('HMGET', KEYS[1], 'kind', 'st', 'reply')
if state[2] == 'done' then return {'done', state[3]} end
if state[2] == 'run' then
  redis.call('HSET', KEYS[1], 'st', 'gone')
  if state[1] == 'job' then
    redis.call('SADD', KEYS[2], ARGV[1])
    redis.call('EXPIRE', KEYS[2], ARGV[2])
  end
end
return {'gone'}
"""

# Forget the shared access token only if it is still the one that failed (another process may have refreshed it).
# KEYS[1] the token key, ARGV[1] the token that the API refused. Returns 1 deleted, 0 kept.
WECHAT_DROP_TOKEN = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""
