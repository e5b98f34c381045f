"""Lua scripts of API keys: resolving a key to its owner and plan, and the /v1 fast path that also takes the quota
slot (KEYS / ARGV / return documented). All keys of one call carry the owner's `{u:ID}` hash tag.
"""

from core.store.lua.billing import CONSUME, PICK_PLAN

# Lua function: read what an API-key request needs, or nothing for a revoked key.
# resolve_key(keys hash {u:ID}:keys, user hash {u:ID}:user, subscriptions zset {u:ID}:subs, key id, key digest, now s)
# Returns false when the key's meta is gone or belongs to another key, else a table {meta = meta JSON string,
# user = {field = value}, subs = [subscription JSON strings that can be active at now, by end time]}.
RESOLVE_KEY = """
local function resolve_key(keys_key, user_key, subs_key, key_id, digest, now)
  local meta = redis.call('HGET', keys_key, key_id)
  if not meta then return false end
  local stored = cjson.decode(meta)['digest']
  if type(stored) == 'string' and stored ~= '' and stored ~= digest then return false end
  local flat = redis.call('HGETALL', user_key)
  local user = {}
  for i = 1, #flat, 2 do user[flat[i]] = flat[i + 1] end
  return {meta = meta, user = user, subs = redis.call('ZRANGEBYSCORE', subs_key, '(' .. now, '+inf')}
end
"""

# An API key's owner and current plan in one step (the ordinary /v1 path).
# KEYS[1] {u:ID}:keys, KEYS[2] {u:ID}:user, KEYS[3] {u:ID}:subs
# ARGV[1] key id, ARGV[2] key digest, ARGV[3] now (s), ARGV[4] free plan name, ARGV[5..] names of existing plans
# Returns nil for a revoked key, else one JSON string: resolve_key's table plus "current" (the current
# subscription's JSON, or false) and "plan" (pick_plan). One bulk reply is far cheaper to parse than nested arrays.
RESOLVE_API_KEY = (
    RESOLVE_KEY
    + PICK_PLAN
    + """
local found = resolve_key(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3])
if not found then return false end
local known = {}
for i = 5, #ARGV do known[ARGV[i]] = true end
found['current'], found['plan'] = pick_plan(found['subs'], tonumber(ARGV[3]), ARGV[4], known)
return cjson.encode(found)
"""
)

# The /v1 hot path in one step: RESOLVE_API_KEY, then CONSUME for the chosen plan, never consuming for a revoked
# key or a missing or blocked user.
# KEYS[1] {u:ID}:keys, KEYS[2] {u:ID}:user, KEYS[3] {u:ID}:subs, KEYS[4..7] consume's keys (window zset
# {u:ID}:q:<model>, token counter {u:ID}:tok:<day>, reservations {u:ID}:reserved, stream slots {u:ID}:streams)
# ARGV[1] key id, ARGV[2] key digest, ARGV[3] now (s), ARGV[4] free plan name, ARGV[5] now ms, ARGV[6] ticket id,
# ARGV[7..11] the call's consumption (tokens to reserve, counter TTL s, stream limit, stream slot lifetime ms,
# messages taken), ARGV[12..] every plan, 5 values each: name, limit for the model (0 = not in the plan), window ms,
# daily token cap, tokens this call reserves on that plan (core.billing.quotas.plan_table).
# Returns nil for a revoked key, else RESOLVE_API_KEY's JSON plus "status": "refused" (no such user, or blocked),
# "not_in_plan", or consume()'s status with its "value", "reset" and "used" (1 consumed, 0 window full, -1 daily
# cap, -2 streams, -3 more messages than the limit).
AUTHORIZE_API_KEY_CHAT = (
    RESOLVE_KEY
    + PICK_PLAN
    + CONSUME
    + """
local found = resolve_key(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3])
if not found then return false end
local user = found['user']
if not user['id'] or user['id'] == '' or user['blocked'] == '1' then
  found['status'] = 'refused'
  return cjson.encode(found)
end
local rows = {}
for i = 12, #ARGV, 5 do rows[ARGV[i]] = i end
found['current'], found['plan'] = pick_plan(found['subs'], tonumber(ARGV[3]), ARGV[4], rows)
local row = rows[found['plan']]
if not row or tonumber(ARGV[row + 1]) == 0 then
  found['status'] = 'not_in_plan'
  return cjson.encode(found)
end
local limit, window, cap = tonumber(ARGV[row + 1]), tonumber(ARGV[row + 2]), tonumber(ARGV[row + 3])
local use = consumption(7)
use.reserve = tonumber(ARGV[row + 4])
found['status'], found['value'], found['reset'], found['used'] = consume(consume_keys(4), tonumber(ARGV[5]), window,
  limit, ARGV[6], cap, use)
return cjson.encode(found)
"""
)
