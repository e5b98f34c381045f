"""Every Lua script ChatGate runs, documented with its KEYS / ARGV / return, registered once per client.

Each constant is one atomic check-then-act. Scripts only touch the keys passed in KEYS (Redis Cluster safe: the
keys of one call share a hash tag). `Scripts` wraps redis-py's `register_script`, which runs EVALSHA and reloads on
NOSCRIPT, so a store restart or failover is transparent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

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

# Give back one counted attempt (a sign-in that succeeded is no failure); at zero the key is gone, never negative.
# KEYS[1] attempt counter
# Returns the count left.
RETURN_ATTEMPT = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n <= 1 then redis.call('DEL', KEYS[1]); return 0 end
return redis.call('DECR', KEYS[1])
"""

# Sliding-window check-and-consume for one (user, model), plus the daily token cap, in one step.
# KEYS[1] window zset {u:ID}:q:<model> (ticket ids scored by ms), KEYS[2] today's token counter {u:ID}:tok:<day>
# ARGV[1] now ms, ARGV[2] window ms, ARGV[3] limit, ARGV[4] unique ticket id, ARGV[5] daily token cap (0 = none)
# Returns {1, remaining} consumed, {0, ms until a slot frees} window full, {-1, tokens used} daily cap reached.
# The Lua function `consume` is the one definition of the sliding window; AUTHORIZE_API_KEY_CHAT embeds it too.
_CONSUME_FUNCTION = """
local function consume(window_key, tokens_key, now, window, limit, ticket, cap)
  if cap > 0 then
    local used = tonumber(redis.call('GET', tokens_key) or '0') or 0
    if used >= cap then return -1, used end
  end
  redis.call('ZREMRANGEBYSCORE', window_key, '-inf', now - window)
  local count = redis.call('ZCARD', window_key)
  if count < limit then
    redis.call('ZADD', window_key, now, ticket)
    redis.call('PEXPIRE', window_key, window)
    return 1, limit - count - 1
  end
  local freeing = redis.call('ZRANGE', window_key, count - limit, count - limit, 'WITHSCORES')
  return 0, math.max(1, tonumber(freeing[2]) + window - now)
end
"""
CONSUME_QUOTA = (
    _CONSUME_FUNCTION
    + """
local status, value = consume(KEYS[1], KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4],
  tonumber(ARGV[5]))
return {status, value}
"""
)

# Spend one reset chance and clear the user's rate-limit windows, all or nothing.
# KEYS[1] user hash {u:ID}:user, KEYS[2..n] window zsets {u:ID}:q:<model> of the user's plan
# ARGV[1] the hash field holding the chances ("reset_chances")
# Returns the chances left, or -1 when there were none (nothing cleared).
USE_RESET_CHANCE = """
local left = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') or 0
if left <= 0 then return -1 end
left = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
return left
"""

# Add a subscription that starts when the user's last non-free subscription ends (or now), once per order id.
# KEYS[1] subscriptions zset {u:ID}:subs (subscription JSON scored by ends_at)
# ARGV[1] plan, ARGV[2] seconds, ARGV[3] now (int seconds), ARGV[4] order id ('' = none), ARGV[5] free plan
# name, ARGV[6] new subscription id
# Returns {1, json} added, {0, json of the existing one} when the order id was already credited.
ADD_SUBSCRIPTION = """
local starts_at = tonumber(ARGV[3])
for _, raw in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local sub = cjson.decode(raw)
  if ARGV[4] ~= '' and sub['order_id'] == ARGV[4] then return {0, raw} end
  local ends_at = tonumber(sub['ends_at'])
  if sub['plan'] ~= ARGV[5] and ends_at > starts_at then starts_at = ends_at end
end
local sub = {id = ARGV[6], plan = ARGV[1], starts_at = starts_at, ends_at = starts_at + tonumber(ARGV[2])}
if ARGV[4] ~= '' then sub['order_id'] = ARGV[4] end
local encoded = cjson.encode(sub)
redis.call('ZADD', KEYS[1], sub['ends_at'], encoded)
return {1, encoded}
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

# Count one failed upstream request; bench the upstream once its consecutive failures reach the threshold.
# KEYS[1] health hash up:health:<upstream id> {fails, benched_until, last_error, failed_at}
# ARGV[1] failures to bench, ARGV[2] benched_until (unix s) to set when benched, ARGV[3] error text, ARGV[4] now
# Returns {fails, 1 if benched now else 0}.
UPSTREAM_FAILURE = """
local fails = redis.call('HINCRBY', KEYS[1], 'fails', 1)
redis.call('HSET', KEYS[1], 'last_error', ARGV[3], 'failed_at', ARGV[4])
if fails >= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'benched_until', ARGV[2])
  return {fails, 1}
end
return {fails, 0}
"""

# Read what an API-key request needs in one step: the key's meta, its owner's record and live subscriptions.
# KEYS[1] {u:ID}:keys, KEYS[2] {u:ID}:user, KEYS[3] {u:ID}:subs
# ARGV[1] key id, ARGV[2] now (subscriptions ending after it can be active)
# Returns nil when the key's meta is gone (revoked), else one JSON string {"meta": meta JSON string, "user":
# {field: value}, "subs": [subscription JSON strings]} (empty ones may encode as {}): one bulk reply is far cheaper
# for the client to parse than the nested arrays.
RESOLVE_API_KEY = """
local meta = redis.call('HGET', KEYS[1], ARGV[1])
if not meta then return false end
local flat = redis.call('HGETALL', KEYS[2])
local user = {}
for i = 1, #flat, 2 do user[flat[i]] = flat[i + 1] end
local subs = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[2], '+inf')
return cjson.encode({meta = meta, user = user, subs = subs})
"""

# The /v1 hot path in one step: RESOLVE_API_KEY, then the caller's plan and CONSUME_QUOTA, never consuming for a
# revoked key or a missing or blocked user. Every key belongs to one user (one hash tag).
# KEYS[1] {u:ID}:keys, KEYS[2] {u:ID}:user, KEYS[3] {u:ID}:subs, KEYS[4] {u:ID}:q:<model>, KEYS[5] {u:ID}:tok:<day>
# ARGV[1] key id, ARGV[2] now (s), ARGV[3] now ms, ARGV[4] ticket id, ARGV[5] free plan name, ARGV[6] key digest,
# ARGV[7..] every plan, 4 values each: name, limit for the model (0 = not in the plan), window ms, daily token cap.
# The plan: the first active (starts_at <= now < ends_at) non-free subscription by end time, if its plan exists,
# else the free plan (core.billing.subscriptions.plan_of).
# Returns nil when the key's meta is gone or is another key's, else the JSON of RESOLVE_API_KEY plus "plan" and
# "status": "refused" (no such user, or blocked), "not_in_plan", 1 consumed ("value" = slots left), 0 window
# full ("value" = ms until a slot frees), -1 daily cap reached ("value" = tokens used).
AUTHORIZE_API_KEY_CHAT = (
    _CONSUME_FUNCTION
    + """
local meta = redis.call('HGET', KEYS[1], ARGV[1])
if not meta then return false end
local digest = cjson.decode(meta)['digest']
if type(digest) == 'string' and digest ~= '' and digest ~= ARGV[6] then return false end
local flat = redis.call('HGETALL', KEYS[2])
local user = {}
for i = 1, #flat, 2 do user[flat[i]] = flat[i + 1] end
local subs = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[2], '+inf')
local result = {meta = meta, user = user, subs = subs}
if not user['id'] or user['id'] == '' or user['blocked'] == '1' then
  result['status'] = 'refused'
  return cjson.encode(result)
end
local now = tonumber(ARGV[2])
local rows = {}
for i = 7, #ARGV, 4 do rows[ARGV[i]] = i end
local plan = ARGV[5]
for _, raw in ipairs(subs) do
  local sub = cjson.decode(raw)
  if sub['plan'] ~= ARGV[5] and tonumber(sub['starts_at']) <= now and now < tonumber(sub['ends_at']) then
    if rows[sub['plan']] then plan = sub['plan'] end
    break
  end
end
result['plan'] = plan
local row = rows[plan]
if not row or tonumber(ARGV[row + 1]) == 0 then
  result['status'] = 'not_in_plan'
  return cjson.encode(result)
end
local limit, window, cap = tonumber(ARGV[row + 1]), tonumber(ARGV[row + 2]), tonumber(ARGV[row + 3])
result['status'], result['value'] = consume(KEYS[4], KEYS[5], tonumber(ARGV[3]), window, limit, ARGV[4], cap)
return cjson.encode(result)
"""
)

# Count one request and its tokens in a usage hash, and optionally against a daily token counter, with expiries.
# KEYS[1] usage hash ({u:ID}:usage:<day> or usage:day:<day>), KEYS[2] optional {u:ID}:tok:<day>
# ARGV[1] model, ARGV[2] prompt tokens, ARGV[3] completion tokens, ARGV[4] hash TTL s, ARGV[5] counter TTL s
# Returns 1.
RECORD_USAGE = """
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':requests', 1)
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':prompt', ARGV[2])
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':completion', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
if KEYS[2] then
  redis.call('INCRBY', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[3]))
  redis.call('EXPIRE', KEYS[2], ARGV[5])
end
return 1
"""

# Raise a counter to at least a value (never lower it). KEYS[1] the counter, ARGV[1] the value. Returns the result.
SET_MAX = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local wanted = tonumber(ARGV[1])
if wanted > current then redis.call('SET', KEYS[1], ARGV[1]); return wanted end
return current
"""

SCRIPTS: dict[str, str] = {
    "claim_code_send": CLAIM_CODE_SEND,
    "release_code_send": RELEASE_CODE_SEND,
    "verify_code": VERIFY_CODE,
    "consume_quota": CONSUME_QUOTA,
    "use_reset_chance": USE_RESET_CHANCE,
    "add_subscription": ADD_SUBSCRIPTION,
    "take_attempt": TAKE_ATTEMPT,
    "return_attempt": RETURN_ATTEMPT,
    "touch_session": TOUCH_SESSION,
    "upstream_failure": UPSTREAM_FAILURE,
    "resolve_api_key": RESOLVE_API_KEY,
    "record_usage": RECORD_USAGE,
    "authorize_api_key_chat": AUTHORIZE_API_KEY_CHAT,
    "set_max": SET_MAX,
}


class Scripts:
    """The registered scripts of one client: ``await scripts.run("verify_code", keys, args)``."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._scripts = {name: redis.register_script(source) for name, source in SCRIPTS.items()}

    async def run(self, name: str, keys: list[str], args: list[Any] | None = None) -> Any:
        return await self._scripts[name](keys=keys, args=args or [])

    async def run_all(self, calls: Sequence[tuple[str, list[str], list[Any]]]) -> list[Any]:
        """Run several scripts in one round trip (each atomic, not all together); a script the store lost is
        loaded and that call alone re-run (NOSCRIPT means it did not run)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for name, keys, args in calls:
                pipe.evalsha(self._scripts[name].sha, len(keys), *keys, *args)
            results = await pipe.execute(raise_on_error=False)
        for index, (name, keys, args) in enumerate(calls):
            if isinstance(results[index], NoScriptError):
                results[index] = await self.run(name, keys, args)
            elif isinstance(results[index], Exception):
                raise results[index]
        return results
