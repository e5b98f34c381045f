"""Lua scripts of billing: the sliding-window quota, reset chances, stacking subscriptions, the current plan,
usage counters (KEYS / ARGV / return documented).

`CONSUME` and `PICK_PLAN` are Lua functions, not scripts: the one definition of the sliding window and of "which
subscription is the current one", embedded by every script that needs them (the /v1 fast path included).
"""

# Lua function: give back the token reservations of calls whose process died (their expiry passed unrenewed).
# A reservation `<ticket>` -> tokens has `<ticket>:x` -> "<expiry ms>:<UTC day number>" (set by consume, pushed back
# by RENEW_STREAM while the answer runs). An expired one is removed and, if it was made today, taken off today's
# counter: a call that was never settled is charged no tokens (never more than it delivered).
# drop_dead_reservations(today's counter {u:ID}:tok:<day>, reservations hash {u:ID}:reserved, now ms)
DROP_DEAD_RESERVATIONS = """
local function drop_dead_reservations(tokens_key, reserved_key, now)
  local fields = redis.call('HGETALL', reserved_key)
  for i = 1, #fields, 2 do
    local expiry, day = string.match(fields[i + 1], '^(%d+):(%d+)$')
    if expiry and tonumber(expiry) <= now then
      local ticket = string.sub(fields[i], 1, -3)
      local reserved = tonumber(redis.call('HGET', reserved_key, ticket) or '0') or 0
      redis.call('HDEL', reserved_key, ticket, fields[i])
      if reserved > 0 and tonumber(day) == math.floor(now / 86400000) then
        if redis.call('DECRBY', tokens_key, reserved) < 0 then redis.call('SET', tokens_key, 0, 'KEEPTTL') end
      end
    end
  end
end
"""

# Drop the dead calls' reservations (DROP_DEAD_RESERVATIONS), then read today's counter.
# KEYS[1] today's counter {u:ID}:tok:<day>, KEYS[2] reservations hash {u:ID}:reserved; ARGV[1] now ms
# Returns the tokens counted today.
TOKENS_TODAY = (
    DROP_DEAD_RESERVATIONS
    + """
drop_dead_reservations(KEYS[1], KEYS[2], tonumber(ARGV[1]))
return tonumber(redis.call('GET', KEYS[1]) or '0') or 0
"""
)

# Lua function: one chat call's check-and-consume for one (user, model), in one step: the daily token cap (with a
# reservation of the call's estimated tokens), the sliding window (`count` messages: a call asking for n answers
# takes n), and the user's concurrent stream slots.
# consume(keys, now ms, window ms, limit, unique ticket id, daily token cap (0 = none), consumption)
#   keys: {window = {u:ID}:q:<model> zset of ticket ids scored by ms, tokens = today's counter {u:ID}:tok:<day>,
#   reserved = {u:ID}:reserved hash ticket -> reserved tokens, streams = {u:ID}:streams zset of ticket ids scored by
#   expiry ms}; consumption: {reserve = tokens to reserve, ttl = counter TTL s, streams = stream limit (0 = none),
#   lifetime = stream slot lifetime ms, count = messages taken (>= 1)} (core.billing.quotas.Consumption).
# The window holds the ticket id for the first message and `<ticket>:<i>` for the i-th (i = 2..count).
# `now` never goes back: a call whose clock was read before another's ran (awaits between the reading and the
# script) is taken at the newest time the window holds, so the window stays ordered and no wait exceeds it.
# Checks first, writes last: a refused call changes nothing. The call's settlement (SETTLE_CALL) replaces the
# reservation with the real usage and frees the stream slot; REFUND_CALL gives all of it back.
# Returns status, value, reset, used:
#   1, messages remaining, ms until the oldest message in the window leaves it, tokens counted today (consumed)
#   0, ms until enough slots free (window full; at most the window), 0, tokens counted today
#   -1, tokens used (daily cap reached, or the reservation does not fit in what is left), 0, tokens used
#   -2, the stream limit (too many streams), 0, tokens counted today
#   -3, the limit (the call asks for more messages than the window ever holds), 0, tokens counted today
CONSUME = (
    DROP_DEAD_RESERVATIONS
    + """
local function consume(keys, now, window, limit, ticket, cap, use)
  local newest = redis.call('ZRANGE', keys.window, -1, -1, 'WITHSCORES')[2]
  if newest and tonumber(newest) > now then now = tonumber(newest) end
  local used = 0
  if cap > 0 then
    drop_dead_reservations(keys.tokens, keys.reserved, now)
    used = tonumber(redis.call('GET', keys.tokens) or '0') or 0
    if used >= cap or used + use.reserve > cap then return -1, used, 0, used end
  end
  if use.count > limit then return -3, limit, 0, used end
  redis.call('ZREMRANGEBYSCORE', keys.window, '-inf', now - window)
  local count = redis.call('ZCARD', keys.window)
  if count + use.count > limit then
    local freeing = redis.call('ZRANGE', keys.window, count + use.count - limit - 1, count + use.count - limit - 1,
      'WITHSCORES')
    return 0, math.min(window, math.max(1, tonumber(freeing[2]) + window - now)), 0, used
  end
  if use.streams > 0 then
    redis.call('ZREMRANGEBYSCORE', keys.streams, '-inf', now)
    if redis.call('ZCARD', keys.streams) >= use.streams then return -2, use.streams, 0, used end
  end
  redis.call('ZADD', keys.window, now, ticket)
  for i = 2, use.count do redis.call('ZADD', keys.window, now, ticket .. ':' .. i) end
  redis.call('PEXPIRE', keys.window, window)
  if cap > 0 and use.reserve > 0 then
    used = redis.call('INCRBY', keys.tokens, use.reserve)
    redis.call('EXPIRE', keys.tokens, use.ttl)
    redis.call('HSET', keys.reserved, ticket, use.reserve)
    if use.lifetime > 0 then
      redis.call('HSET', keys.reserved, ticket .. ':x', (now + use.lifetime) .. ':' .. math.floor(now / 86400000))
    end
    redis.call('EXPIRE', keys.reserved, use.ttl)
  end
  if use.streams > 0 then
    redis.call('ZADD', keys.streams, now + use.lifetime, ticket)
    redis.call('PEXPIRE', keys.streams, use.lifetime)
  end
  local oldest = redis.call('ZRANGE', keys.window, 0, 0, 'WITHSCORES')[2]
  return 1, limit - count - use.count, math.max(0, tonumber(oldest) + window - now), used
end
local function consume_keys(first)
  return {window = KEYS[first], tokens = KEYS[first + 1], reserved = KEYS[first + 2], streams = KEYS[first + 3]}
end
local function consumption(first)
  return {reserve = tonumber(ARGV[first]), ttl = tonumber(ARGV[first + 1]), streams = tonumber(ARGV[first + 2]),
    lifetime = tonumber(ARGV[first + 3]), count = tonumber(ARGV[first + 4])}
end
"""
)
# consume() as a script.
# KEYS[1] window zset, KEYS[2] today's token counter, KEYS[3] reservations hash, KEYS[4] stream slots zset
# ARGV[1] now ms, ARGV[2] window ms, ARGV[3] limit, ARGV[4] unique ticket id, ARGV[5] daily token cap (0 = none),
# ARGV[6..10] the call's consumption: tokens to reserve, counter TTL s, stream limit (0 = none), slot lifetime ms,
# messages taken
# Returns {status, value, reset, used} as consume().
CONSUME_QUOTA = (
    CONSUME
    + """
local status, value, reset, used = consume(consume_keys(1), tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
  ARGV[4], tonumber(ARGV[5]), consumption(6))
return {status, value, reset, used}
"""
)

# Keep a call alive while its answer runs: its stream slot and its token reservation's expiry (those of a process
# that died expire on their own).
# KEYS[1] stream slots zset {u:ID}:streams, KEYS[2] reservations hash {u:ID}:reserved
# ARGV[1] ticket id, ARGV[2] new expiry ms, ARGV[3] slot lifetime ms
# Returns 1 when the slot was there (renewed), else 0.
RENEW_STREAM = """
local expiry = redis.call('HGET', KEYS[2], ARGV[1] .. ':x')
if expiry then redis.call('HSET', KEYS[2], ARGV[1] .. ':x', ARGV[2] .. string.match(expiry, '(:%d+)$')) end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

# Lua function: take back a call's token reservation (once: its entry is removed) and add `used` tokens instead.
# settle_tokens(counter {u:ID}:tok:<day of the reservation>, reservations hash, ticket id, tokens used, counter TTL s)
SETTLE_TOKENS = """
local function settle_tokens(tokens_key, reserved_key, ticket, used, ttl)
  local reserved = tonumber(redis.call('HGET', reserved_key, ticket) or '0') or 0
  if reserved > 0 then redis.call('HDEL', reserved_key, ticket, ticket .. ':x') end
  local delta = used - reserved
  if delta == 0 then return end
  if redis.call('INCRBY', tokens_key, delta) < 0 then redis.call('SET', tokens_key, 0) end
  redis.call('EXPIRE', tokens_key, ttl)
end
"""

# Give back everything an unanswered call took: its window entries, its token reservation and its stream slot.
# KEYS[1] window zset {u:ID}:q:<model>, KEYS[2] the reservation day's counter {u:ID}:tok:<day>, KEYS[3] reservations
# hash {u:ID}:reserved, KEYS[4] stream slots zset {u:ID}:streams
# ARGV[1] ticket id, ARGV[2] counter TTL s, ARGV[3] messages the call took (consume's `count`; default 1)
# Returns 1 when the first window entry was there, else 0 (refunded before, or cleared by a reset chance).
REFUND_CALL = (
    SETTLE_TOKENS
    + """
settle_tokens(KEYS[2], KEYS[3], ARGV[1], 0, tonumber(ARGV[2]))
redis.call('ZREM', KEYS[4], ARGV[1])
for i = 2, tonumber(ARGV[3] or '1') do redis.call('ZREM', KEYS[1], ARGV[1] .. ':' .. i) end
return redis.call('ZREM', KEYS[1], ARGV[1])
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

# Lua function: which subscription is the current one, and so which plan the user is on (the one definition).
# pick_plan(subscription JSON strings ordered by ends_at, now s, free plan name, table of existing plan names)
# The first active (starts_at <= now < ends_at) non-free subscription wins; its plan, or free if that plan was
# deleted (never "unlimited"). With none, the first active free subscription (shown to the user), plan free.
# Returns the chosen subscription's JSON (or false), the plan name.
PICK_PLAN = """
local function pick_plan(subs, now, free, known)
  local free_sub = false
  for _, raw in ipairs(subs) do
    local sub = cjson.decode(raw)
    if tonumber(sub['starts_at']) <= now and now < tonumber(sub['ends_at']) then
      if sub['plan'] ~= free then
        if known[sub['plan']] then return raw, sub['plan'] end
        return raw, free
      end
      if not free_sub then free_sub = raw end
    end
  end
  return free_sub, free
end
"""

# The user's current subscription and plan (pick_plan over the subscriptions that can be active now).
# KEYS[1] subscriptions zset {u:ID}:subs
# ARGV[1] now (s), ARGV[2] free plan name, ARGV[3..] the names of the plans that exist
# Returns {subscription JSON or false, plan name}.
CURRENT_SUBSCRIPTION = (
    PICK_PLAN
    + """
local known = {}
for i = 3, #ARGV do known[ARGV[i]] = true end
local now = tonumber(ARGV[1])
local sub, plan = pick_plan(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf'), now, ARGV[2], known)
return {sub, plan}
"""
)

# Count requests and their tokens in a usage hash (the user's or the site's), with its expiry.
# KEYS[1] usage hash ({u:ID}:usage:<day> or usage:day:<day>)
# ARGV[1] model, ARGV[2] prompt tokens, ARGV[3] completion tokens, ARGV[4] hash TTL s, ARGV[5] requests (default 1)
# Returns 1.
RECORD_USAGE = """
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':requests', ARGV[5] or 1)
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':prompt', ARGV[2])
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':completion', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""

# Note that a user chatted: its last-active time (never moved back; the dashboard's "recently active" order) and
# the day's set of active users (a HyperLogLog: PFCOUNT over several days counts distinct users). Both keys carry
# {activity}.
# KEYS[1] {activity}:users, KEYS[2] {activity}:day:<yyyymmdd>
# ARGV[1] user id, ARGV[2] now (unix s), ARGV[3] the day key's TTL in seconds. Returns 1.
NOTE_ACTIVITY = """
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
redis.call('PFADD', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
"""
# Settle one answered call for its user: count it in the usage hash, replace its token reservation with the real
# usage on the daily counter (the usage counts only when the plan caps tokens), and free its stream slot.
# KEYS[1] usage hash {u:ID}:usage:<day>, KEYS[2] the reservation day's counter {u:ID}:tok:<day>, KEYS[3]
# reservations hash {u:ID}:reserved, KEYS[4] stream slots zset {u:ID}:streams, KEYS[5] (optional) the tickets settled
# lately, zset {u:ID}:settled scored by ms: a ticket is settled once, however often its settlement is sent (a retry
# after the store went away before it answered)
# ARGV[1] model, ARGV[2] prompt tokens, ARGV[3] completion tokens, ARGV[4] hash TTL s, ARGV[5] counter TTL s,
# ARGV[6] 1 = count the tokens against the daily cap, ARGV[7] ticket id ('' = a call without a ticket),
# ARGV[8] requests to count (the messages the call took; default 1), ARGV[9] now ms, ARGV[10] how long a settled
# ticket is remembered, ms (with KEYS[5])
# Returns 1, or 0 when the ticket was settled before (nothing changed).
SETTLE_CALL = (
    SETTLE_TOKENS
    + """
if ARGV[7] ~= '' and KEYS[5] then
  if redis.call('ZADD', KEYS[5], 'NX', ARGV[9], ARGV[7]) == 0 then return 0 end
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', tonumber(ARGV[9]) - tonumber(ARGV[10]))
  redis.call('PEXPIRE', KEYS[5], ARGV[10])
end
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':requests', ARGV[8] or 1)
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':prompt', ARGV[2])
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':completion', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
local used = 0
if ARGV[6] == '1' then used = tonumber(ARGV[2]) + tonumber(ARGV[3]) end
settle_tokens(KEYS[2], KEYS[3], ARGV[7], used, tonumber(ARGV[5]))
if ARGV[7] ~= '' then redis.call('ZREM', KEYS[4], ARGV[7]) end
return 1
"""
)

# One store, not a cluster: SETTLE_CALL, then, only if it counted the call, RECORD_USAGE and NOTE_ACTIVITY, in one
# script (one round trip, and the site's counts follow the user's exactly once). On a cluster the site's keys live
# in other slots: core.billing.usage runs the three scripts instead.
# KEYS: SETTLE_CALL's 5 keys, then RECORD_USAGE's 1, then NOTE_ACTIVITY's 2
# ARGV: SETTLE_CALL's 10, then RECORD_USAGE's 5, then NOTE_ACTIVITY's 3. Returns SETTLE_CALL's answer.
SETTLE_AND_COUNT = (
    "local function settle_call(KEYS, ARGV)\n"
    + SETTLE_CALL
    + "\nend\nlocal function record_usage(KEYS, ARGV)\n"
    + RECORD_USAGE
    + "\nend\nlocal function note_activity(KEYS, ARGV)\n"
    + NOTE_ACTIVITY
    + """
end
if settle_call({KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]},
               {ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]}) == 0 then
  return 0
end
record_usage({KEYS[6]}, {ARGV[11], ARGV[12], ARGV[13], ARGV[14], ARGV[15]})
note_activity({KEYS[7], KEYS[8]}, {ARGV[16], ARGV[17], ARGV[18]})
return 1
"""
)
