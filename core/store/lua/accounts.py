"""Lua scripts of accounts: verification codes, sign-in throttling, sessions (KEYS / ARGV / return documented)."""

# Claim a resend cooldown and count against daily caps, all or nothing.
# KEYS[1] cooldown key, KEYS[2] per-target daily counter, KEYS[3] per-IP daily counter
# ARGV[1] cooldown seconds (0 = none), ARGV[2] target cap, ARGV[3] IP cap, ARGV[4] counter TTL seconds
# Returns {0, ttl} on cooldown, {1, 0} target cap hit, {2, 0} IP cap hit, {3, 0} claimed.
CLAIM_CODE_SEND = """
local ttl = redis.call('TTL', KEYS[1])
if ttl > 0 then return {0, ttl} end
local sent_target = tonumber(redis.call('GET', KEYS[2]) or '0')
if sent_target >= tonumber(ARGV[2]) then return {1, 0} end
local sent_ip = tonumber(redis.call('GET', KEYS[3]) or '0')
if sent_ip >= tonumber(ARGV[3]) then return {2, 0} end
if tonumber(ARGV[1]) > 0 then redis.call('SET', KEYS[1], '1', 'EX', ARGV[1]) end
redis.call('INCR', KEYS[2]); redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('INCR', KEYS[3]); redis.call('EXPIRE', KEYS[3], ARGV[4])
return {3, 0}
"""

# Undo a claim when the provider refused the send: a failed delivery burns no cooldown and no cap.
# KEYS[1] cooldown key, KEYS[2] per-target daily counter, KEYS[3] per-IP daily counter
# Returns 1.
RELEASE_CODE_SEND = """
redis.call('DEL', KEYS[1])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
if tonumber(redis.call('GET', KEYS[3]) or '0') > 0 then redis.call('DECR', KEYS[3]) end
return 1
"""

# Check a verification code: single use, bounded tries, bound to its purpose (the key carries the purpose).
# KEYS[1] code hash {digest, tries}
# ARGV[1] sha256 digest of the submitted code, ARGV[2] max tries
# Returns 1 ok (code deleted), 0 wrong, -1 no live code, -2 too many tries (code deleted).
VERIFY_CODE = """
local digest = redis.call('HGET', KEYS[1], 'digest')
if not digest then return -1 end
local tries = tonumber(redis.call('HGET', KEYS[1], 'tries') or '0')
if tries >= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]); return -2 end
if digest == ARGV[1] then redis.call('DEL', KEYS[1]); return 1 end
tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
if tries >= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) end
return 0
"""

# Count one sign-in attempt in a fixed window, unless the limit is already reached (throttling, core/throttle.py).
# KEYS[1] attempt counter
# ARGV[1] window seconds, ARGV[2] limit
# Returns {1, count} when counted, {0, ttl} when the limit is reached (ttl = seconds until the window ends).
TAKE_ATTEMPT = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[2]) then
  local ttl = redis.call('TTL', KEYS[1])
  if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
  return {0, ttl}
end
n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {1, n}
"""

# Count one sign-in attempt on an account with a progressive delay instead of a lock: the first ARGV[3] failures
# are free, then each further attempt must wait 2^(failures - free) seconds (at most ARGV[4]) after the last one, so
# a guesser is slowed to a crawl while the owner is at most a short wait away (and code sign-in stays open).
# KEYS[1] failures hash {n, last_ms}
# ARGV[1] now ms, ARGV[2] window seconds (the failures are forgotten that long after the last one), ARGV[3] free
# failures, ARGV[4] longest delay seconds
# Returns {1, failures} when counted, {0, seconds to wait} when too early.
TAKE_ACCOUNT_ATTEMPT = """
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0') or 0
local now = tonumber(ARGV[1])
if n >= tonumber(ARGV[3]) then
  local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0') or 0
  local delay = math.min(2 ^ (n - tonumber(ARGV[3])), tonumber(ARGV[4])) * 1000
  if now < last + delay then return {0, math.ceil((last + delay - now) / 1000)} end
end
n = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSET', KEYS[1], 'last', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {1, n}
"""

# Give back one counted attempt (a sign-in that succeeded is no failure); at zero the key is gone, never negative.
# KEYS[1] attempt counter
# Returns the count left.
RETURN_ATTEMPT = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n <= 1 then redis.call('DEL', KEYS[1]); return 0 end
return redis.call('DECR', KEYS[1])
"""

# Record activity on a live session and optionally slide its expiry; a revoked session stays gone (no resurrection).
# KEYS[1] session hash, KEYS[2] the user's sessions zset
# ARGV[1] seen_at, ARGV[2] session id, ARGV[3] new TTL seconds (0 = keep the expiry), ARGV[4] new expiry time
# Returns 1 touched, 0 session gone.
TOUCH_SESSION = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'seen_at', ARGV[1])
if tonumber(ARGV[3]) > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
end
return 1
"""
