"""Lua scripts of the site: the dashboard's audit log (KEYS / ARGV / return documented)."""

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
