"""Lua scripts of the site: the dashboard's audit log and revenue ledger (KEYS / ARGV / return documented)."""

# Append one audit entry to the log and to its actor's and its action's streams under the same id, atomically
# (all three keys carry the {audit} hash tag: one slot). The copies let a filtered page read only matching entries.
# KEYS[1] {audit}:log, KEYS[2] {audit}:actor:<id>, KEYS[3] {audit}:action:<action>
# ARGV field, value, field, value, ... of the entry. Returns the entry id.
AUDIT_APPEND = """
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV))
redis.call('XADD', KEYS[2], id, unpack(ARGV))
redis.call('XADD', KEYS[3], id, unpack(ARGV))
return id
"""

# Count a paid order in its day's revenue once, however often it is counted (a payment notify sent again after the
# store went away before the first one was answered): the day hash remembers the order as a field `order:<id>`.
# KEYS[1] revenue:day:<yyyymmdd> (the day the order was paid)
# ARGV[1] order id, ARGV[2] fen, ARGV[3] hash TTL s
# Returns 1 when counted now, 0 when it was counted before.
REVENUE_ONCE = """
if redis.call('HSETNX', KEYS[1], 'order:' .. ARGV[1], 1) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'fen', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'orders', 1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""
