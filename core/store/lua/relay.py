"""Lua scripts of the relay: upstream health (KEYS / ARGV / return documented)."""

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
