"""Lua scripts of billing: the sliding-window quota, reset chances, stacking subscriptions, the current plan,
usage counters (KEYS / ARGV / return documented).

`CONSUME` and `PICK_PLAN` are Lua functions, not scripts: the one definition of the sliding window and of "which
subscription is the current one", embedded by every script that needs them (the /v1 fast path included).
"""

# Lua function: sliding-window check-and-consume for one (user, model), plus the daily token cap, in one step.
# consume(window zset {u:ID}:q:<model> of ticket ids scored by ms, today's token counter {u:ID}:tok:<day>, now ms,
#   window ms, limit, unique ticket id, daily token cap (0 = none))
# Returns 1, remaining (consumed) | 0, ms until a slot frees (window full) | -1, tokens used (daily cap reached).
CONSUME = """
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
# consume() as a script.
# KEYS[1] window zset, KEYS[2] today's token counter
# ARGV[1] now ms, ARGV[2] window ms, ARGV[3] limit, ARGV[4] unique ticket id, ARGV[5] daily token cap (0 = none)
# Returns {status, value} as consume().
CONSUME_QUOTA = (
    CONSUME
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
