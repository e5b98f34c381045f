"""Small general-purpose Lua scripts (KEYS / ARGV / return documented)."""

# Raise a counter to at least a value (never lower it). KEYS[1] the counter, ARGV[1] the value. Returns the result.
SET_MAX = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local wanted = tonumber(ARGV[1])
if wanted > current then redis.call('SET', KEYS[1], ARGV[1]); return wanted end
return current
"""

# Extend a lease only while we still hold it (a lease that expired and was taken by another holder stays theirs).
# KEYS[1] the lease key, ARGV[1] our holder token, ARGV[2] the new lease in ms. Returns 1 extended, 0 not ours.
RENEW_LEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

# Give a lease back only if we still hold it. KEYS[1] the lease key, ARGV[1] our holder token. Returns 1 or 0.
RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""
