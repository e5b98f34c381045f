"""Lua scripts of moderation (KEYS / ARGV / return documented)."""

# Read the keyword list with its version in one step, so a process files the matcher it builds under the right stamp.
# KEYS[1] the word set {mod}:words, KEYS[2] its version counter {mod}:words:ver
# Returns {version ('0' when never set), {words}}.
READ_WORDS = """
return {redis.call('GET', KEYS[2]) or '0', redis.call('SMEMBERS', KEYS[1])}
"""
