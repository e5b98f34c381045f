"""Lua scripts of paid time: the one rule that places bought (or granted) time on a user's timeline, crediting orders,
order state changes, redemption codes, invitation rewards and commissions (KEYS / ARGV / return documented).

`GRANT_TIME` is a Lua function, not a script: the one definition of "what buying plan P for S seconds does",
embedded by every script that adds paid time (orders, codes, invitation bonuses) and by the dry-run preview.
Every multi-key script here touches one user's keys only (`{u:ID}` hash tag).
"""

# Lua function: place `seconds` of `plan` on the timeline in {u:ID}:subs (subscription JSON scored by ends_at).
# grant_time(subs key, now s, plan, seconds, fen (what the time is worth), subscription id, order id ('' = none),
#   source (order | code | invite), free plan name, rates (plan -> list rate in fen per second), dry (true: write
#   nothing))
# The rule, against the paid subscription active at `now` (the "current" one) and the run of same-plan segments
# that follows it:
#   same plan      extend: the new time starts where the run ends; later (queued) segments move back by as much;
#   dearer plan    upgrade (list rate higher): starts now; the run's unused value (remaining seconds times each
#                  segment's own fen per second, rounded down to whole fen per segment) buys extra seconds of the
#                  new plan at its price per second (floor(value * seconds / fen)); the run ends now; queued
#                  segments follow the new one;
#   other plan     downgrade (list rate not higher): queued after the last paid segment;
#   nothing active starts now (or after queued time, if any).
# Idempotent by order id: a subscription already carrying `order id` is returned as it is.
# Returns 1 (or 0 when that order id was already granted), the new subscription's JSON, the mode
# (new | extend | upgrade | downgrade).
GRANT_TIME = """
local function list_rate(rates, plan)
  return tonumber(rates[plan] or '0') or 0
end

local function unused_value(sub, now, rates)
  local starts, ends = tonumber(sub['starts_at']), tonumber(sub['ends_at'])
  local from = math.max(starts, now)
  if ends <= from then return 0 end
  local fen = tonumber(sub['fen'] or '')
  if fen and ends > starts then return math.floor((ends - from) * fen / (ends - starts)) end
  return math.floor((ends - from) * list_rate(rates, sub['plan']))
end

local function move(key, seg, starts, dry)
  local length = tonumber(seg.sub['ends_at']) - tonumber(seg.sub['starts_at'])
  seg.sub['starts_at'] = starts
  seg.sub['ends_at'] = starts + length
  if not dry then
    redis.call('ZREM', key, seg.raw)
    redis.call('ZADD', key, seg.sub['ends_at'], cjson.encode(seg.sub))
  end
  return starts + length
end

local function grant_time(key, now, plan, seconds, fen, sub_id, order_id, source, free, rates, dry)
  local segs = {}
  for _, raw in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    local sub = cjson.decode(raw)
    if order_id ~= '' and sub['order_id'] == order_id then return {0, raw, sub['mode'] or ''} end
    if sub['plan'] ~= free and tonumber(sub['ends_at']) > now then segs[#segs + 1] = {raw = raw, sub = sub} end
  end
  table.sort(segs, function(a, b) return tonumber(a.sub['starts_at']) < tonumber(b.sub['starts_at']) end)
  local current = segs[1]
  if current and tonumber(current.sub['starts_at']) > now then current = nil end
  local mode, starts, length, value, follow = 'new', now, seconds, 0, #segs + 1
  if current then
    local run = 1
    while segs[run + 1] and segs[run + 1].sub['plan'] == current.sub['plan'] do run = run + 1 end
    if current.sub['plan'] == plan then
      mode, starts, follow = 'extend', tonumber(segs[run].sub['ends_at']), run + 1
    elseif list_rate(rates, plan) > list_rate(rates, current.sub['plan']) then
      mode, follow = 'upgrade', run + 1
      for i = 1, run do value = value + unused_value(segs[i].sub, now, rates) end
      if fen > 0 then length = seconds + math.floor(value * seconds / fen) end
      if not dry then
        for i = 1, run do
          redis.call('ZREM', key, segs[i].raw)
          if tonumber(segs[i].sub['starts_at']) < now then
            segs[i].sub['ends_at'] = now
            segs[i].sub['upgraded_at'] = now
            redis.call('ZADD', key, now, cjson.encode(segs[i].sub))
          end
        end
      end
    else
      mode, starts = 'downgrade', tonumber(segs[#segs].sub['ends_at'])
    end
  elseif #segs > 0 then
    starts = math.max(now, tonumber(segs[#segs].sub['ends_at']))
  end
  local sub = {id = sub_id, plan = plan, starts_at = starts, ends_at = starts + length, fen = fen + value,
    mode = mode, source = source}
  if order_id ~= '' then sub['order_id'] = order_id end
  if mode == 'upgrade' then sub['converted_fen'] = value; sub['bonus_seconds'] = length - seconds end
  local encoded = cjson.encode(sub)
  if not dry then redis.call('ZADD', key, sub['ends_at'], encoded) end
  local cursor = sub['ends_at']
  for i = follow, #segs do cursor = move(key, segs[i], cursor, dry) end
  return {1, encoded, mode}
end

local function rates_from(args, first)
  local rates = {}
  for i = first, #args, 2 do rates[args[i]] = args[i + 1] end
  return rates
end
"""

# Grant time (or preview it) with GRANT_TIME.
# KEYS[1] {u:ID}:subs
# ARGV[1] now (s), ARGV[2] plan, ARGV[3] seconds, ARGV[4] fen, ARGV[5] subscription id, ARGV[6] order id ('' =
# none), ARGV[7] source, ARGV[8] free plan name, ARGV[9] '1' = dry run (write nothing), ARGV[10..] rates as
# plan, fen-per-second pairs
# Returns grant_time's {status, subscription JSON, mode}.
GRANT_TIME_SCRIPT = (
    GRANT_TIME
    + """
return grant_time(KEYS[1], tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6],
  ARGV[7], ARGV[8], rates_from(ARGV, 10), ARGV[9] == '1')
"""
)

# Credit a paid order once: check its state and amount, grant its time, mark it paid, log the callback's verdict.
# KEYS[1] order hash {u:ID}:order:<id>, KEYS[2] {u:ID}:subs, KEYS[3] the order's callback log {u:ID}:order:<id>:cb
# ARGV[1] now (s), ARGV[2] amount paid (fen), ARGV[3] transaction id, ARGV[4] open order id, ARGV[5] new
# subscription id, ARGV[6] free plan name, ARGV[7] callback entry JSON (the verdict is added here), ARGV[8] log
# cap, ARGV[9..] rates as plan, fen-per-second pairs
# Verdicts: credited | already_credited | wrong_amount | refunded | unknown_order (no such order hash).
# Pending, expired and failed orders are credited (a payment that arrives after expiry is still the user's).
# Returns {verdict, subscription JSON or false, mode or ''}.
CREDIT_ORDER = (
    GRANT_TIME
    + """
local function log(verdict)
  if redis.call('EXISTS', KEYS[1]) == 0 then return end
  local entry = cjson.decode(ARGV[7])
  entry['verdict'] = verdict
  redis.call('RPUSH', KEYS[3], cjson.encode(entry))
  redis.call('LTRIM', KEYS[3], -tonumber(ARGV[8]), -1)
end
local order = {}
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do order[flat[i]] = flat[i + 1] end
if not order['id'] then return {'unknown_order', false, ''} end
if order['status'] == 'paid' then
  log('already_credited')
  return {'already_credited', order['subscription'] or false, order['mode'] or ''}
end
if order['status'] == 'refunded' then log('refunded'); return {'refunded', false, ''} end
if tonumber(order['amount']) ~= tonumber(ARGV[2]) then log('wrong_amount'); return {'wrong_amount', false, ''} end
local now = tonumber(ARGV[1])
local granted = grant_time(KEYS[2], now, order['plan'], tonumber(order['seconds']), tonumber(order['amount']),
  ARGV[5], order['id'], 'order', ARGV[6], rates_from(ARGV, 9), false)
redis.call('HSET', KEYS[1], 'status', 'paid', 'paid_at', now, 'updated_at', now, 'transaction_id', ARGV[3],
  'open_order_id', ARGV[4], 'subscription', granted[2], 'mode', granted[3])
log('credited')
return {'credited', granted[2], granted[3]}
"""
)

# Move a record (an order, a redemption code) from one status to another, or do nothing: pending -> expired /
# failed, paid -> refunded, new -> disabled.
# KEYS[1] the record's hash
# ARGV[1] expected status, ARGV[2] new status, ARGV[3..] extra field, value pairs to set with it
# Returns 1 moved, 0 the record is missing or not in the expected status.
TRANSITION_STATUS = """
if redis.call('HGET', KEYS[1], 'status') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""

# Claim a redemption code for one user: single use, not disabled, not expired.
# KEYS[1] code hash rcode:<sha256>
# ARGV[1] user id, ARGV[2] now (s)
# Returns {outcome, flat code fields}: outcome claimed | mine (this user claimed it before: finish applying it) |
# used | disabled | expired | unknown.
CLAIM_REDEMPTION_CODE = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'unknown', {}} end
if status == 'disabled' then return {'disabled', {}} end
if status == 'used' then
  if redis.call('HGET', KEYS[1], 'used_by') == ARGV[1] then return {'mine', redis.call('HGETALL', KEYS[1])} end
  return {'used', {}}
end
local expires = tonumber(redis.call('HGET', KEYS[1], 'expires_at') or '0') or 0
if expires > 0 and tonumber(ARGV[2]) >= expires then return {'expired', {}} end
redis.call('HSET', KEYS[1], 'status', 'used', 'used_by', ARGV[1], 'used_at', ARGV[2])
return {'claimed', redis.call('HGETALL', KEYS[1])}
"""

# Apply a claimed redemption code to its user once: reset chances, or plan time through GRANT_TIME.
# KEYS[1] {u:ID}:redemptions (digest -> record JSON), KEYS[2] {u:ID}:subs, KEYS[3] {u:ID}:user
# ARGV[1] code digest, ARGV[2] record JSON (kind "plan" | "reset_chances", plan, days, reset_chances, ...),
# ARGV[3] now (s), ARGV[4] seconds, ARGV[5] fen, ARGV[6] subscription id, ARGV[7] free plan name, ARGV[8..] rates
# Returns {1, record JSON} applied (with "subscription" for plan time), {0, record JSON} applied before.
APPLY_REDEMPTION = (
    GRANT_TIME
    + """
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return {0, existing} end
local record = cjson.decode(ARGV[2])
if record['kind'] == 'reset_chances' then
  record['reset_chances_after'] = redis.call('HINCRBY', KEYS[3], 'reset_chances', tonumber(record['reset_chances']))
else
  local granted = grant_time(KEYS[2], tonumber(ARGV[3]), record['plan'], tonumber(ARGV[4]), tonumber(ARGV[5]),
    ARGV[6], 'code:' .. ARGV[1], 'code', ARGV[7], rates_from(ARGV, 8), false)
  record['subscription'] = cjson.decode(granted[2])
end
local encoded = cjson.encode(record)
redis.call('HSET', KEYS[1], ARGV[1], encoded)
return {1, encoded}
"""
)

# Reward an inviter for one invitee, once, within a daily cap: reset chances and optional bonus time.
# KEYS[1] {u:ID}:invite_rewards, KEYS[2] {u:ID}:invite_day:<day>, KEYS[3] {u:ID}:user, KEYS[4] {u:ID}:subs
# ARGV[1] invitee id, ARGV[2] now (s), ARGV[3] daily cap, ARGV[4] reset chances, ARGV[5] bonus plan ('' = none),
# ARGV[6] bonus seconds, ARGV[7] bonus fen, ARGV[8] subscription id, ARGV[9] trigger, ARGV[10] free plan name,
# ARGV[11] day counter TTL (s), ARGV[12..] rates
# Returns {1, record JSON} decided now (record.status granted | capped), {0, record JSON} decided before.
GRANT_INVITE_REWARD = (
    GRANT_TIME
    + """
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return {0, existing} end
local now = tonumber(ARGV[2])
local record = {invitee_id = tonumber(ARGV[1]), at = now, trigger = ARGV[9], status = 'capped'}
local given = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if given < tonumber(ARGV[3]) then
  redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], ARGV[11])
  record['status'] = 'granted'
  record['reset_chances'] = tonumber(ARGV[4])
  if tonumber(ARGV[4]) > 0 then redis.call('HINCRBY', KEYS[3], 'reset_chances', ARGV[4]) end
  if ARGV[5] ~= '' and tonumber(ARGV[6]) > 0 then
    local granted = grant_time(KEYS[4], now, ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8],
      'invite:' .. ARGV[1], 'invite', ARGV[10], rates_from(ARGV, 12), false)
    record['subscription'] = cjson.decode(granted[2])
  end
end
local encoded = cjson.encode(record)
redis.call('HSET', KEYS[1], ARGV[1], encoded)
return {1, encoded}
"""
)

# Add one commission entry to an inviter's ledger, once per order, and its amount to the inviter's total.
# KEYS[1] {u:ID}:commissions, KEYS[2] {u:ID}:user
# ARGV[1] order id, ARGV[2] entry JSON, ARGV[3] commission (fen)
# Returns 1 added, 0 already in the ledger.
ADD_COMMISSION = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[2], 'commission_fen', ARGV[3])
return 1
"""

# Refund a paid order: take back the time it credited that is not used yet, and mark it refunded (once).
# The order's segment (the subscription carrying its order id) loses its unused part: removed when it had not
# started, cut at now when it had; paid time queued after it moves earlier by as much. Time it converted from an
# upgraded plan is not given back (the refunded segment held it).
# KEYS[1] order hash {u:ID}:order:<id>, KEYS[2] {u:ID}:subs, KEYS[3] the order's callback log
# ARGV[1] now (s), ARGV[2] log entry JSON (the verdict is added here), ARGV[3] log cap
# Returns {verdict, seconds taken back}: refunded | not_paid (pending, expired, failed) | already_refunded |
# unknown_order.
REFUND_ORDER = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'unknown_order', 0} end
if status == 'refunded' then return {'already_refunded', 0} end
if status ~= 'paid' then return {'not_paid', 0} end
local now = tonumber(ARGV[1])
local order_id = redis.call('HGET', KEYS[1], 'id')
local target, taken = nil, 0
for _, raw in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local sub = cjson.decode(raw)
  if sub['order_id'] == order_id then target = {raw = raw, sub = sub} end
end
if target then
  local starts, ends = tonumber(target.sub['starts_at']), tonumber(target.sub['ends_at'])
  local cut = math.max(starts, now)
  if ends > cut then
    taken = ends - cut
    redis.call('ZREM', KEYS[2], target.raw)
    if cut > starts then
      target.sub['ends_at'] = cut
      target.sub['refunded_at'] = now
      redis.call('ZADD', KEYS[2], cut, cjson.encode(target.sub))
    end
    for _, raw in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
      local sub = cjson.decode(raw)
      if tonumber(sub['starts_at']) >= ends then
        sub['starts_at'] = tonumber(sub['starts_at']) - taken
        sub['ends_at'] = tonumber(sub['ends_at']) - taken
        redis.call('ZREM', KEYS[2], raw)
        redis.call('ZADD', KEYS[2], sub['ends_at'], cjson.encode(sub))
      end
    end
  end
end
redis.call('HSET', KEYS[1], 'status', 'refunded', 'refunded_at', now, 'updated_at', now, 'refunded_seconds', taken)
local entry = cjson.decode(ARGV[2])
entry['verdict'] = 'refunded'
redis.call('RPUSH', KEYS[3], cjson.encode(entry))
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[3]), -1)
return {'refunded', taken}
"""
