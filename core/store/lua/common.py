"""Small general-purpose Lua scripts (KEYS / ARGV / return documented)."""

# Raise a counter to at least a value (never lower it). KEYS[1] the counter, ARGV[1] the value. Returns the result.
SET_MAX = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local wanted = tonumber(ARGV[1])
if wanted > current then redis.call('SET', KEYS[1], ARGV[1]); return wanted end
return current
"""
