"""Every Lua script ChatGate runs, documented with its KEYS / ARGV / return, registered once per client.

Each constant is one atomic check-then-act. Scripts only touch the keys passed in KEYS (Redis Cluster safe: the
keys of one call share a hash tag). `Scripts` wraps redis-py's `register_script`, which runs EVALSHA and reloads on
NOSCRIPT, so a store restart or failover is transparent.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

# Claim a resend cooldown and count against daily caps, all or nothing.
# KEYS[1] cooldown key, KEYS[2] per-target daily counter, KEYS[3] per-IP daily counter
# ARGV[1] cooldown seconds, ARGV[2] target cap, ARGV[3] IP cap, ARGV[4] counter TTL seconds
# Returns {0, ttl} on cooldown, {1, 0} target cap hit, {2, 0} IP cap hit, {3, 0} claimed.
CLAIM_CODE_SEND = """
local ttl = redis.call('TTL', KEYS[1])
if ttl > 0 then return {0, ttl} end
local sent_target = tonumber(redis.call('GET', KEYS[2]) or '0')
if sent_target >= tonumber(ARGV[2]) then return {1, 0} end
local sent_ip = tonumber(redis.call('GET', KEYS[3]) or '0')
if sent_ip >= tonumber(ARGV[3]) then return {2, 0} end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
redis.call('INCR', KEYS[2]); redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('INCR', KEYS[3]); redis.call('EXPIRE', KEYS[3], ARGV[4])
return {3, 0}
"""

# Undo a claim when the provider refused the send: a failed delivery burns no cooldown and no cap.
# KEYS[1] cooldown key, KEYS[2] per-target daily counter, KEYS[3] per-IP daily counter
# Returns 1.
RELEASE_CODE_SEND = """
redis.call('DEL', KEYS[1])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
if tonumber(redis.call('GET', KEYS[3]) or '0') > 0 then redis.call('DECR', KEYS[3]) end
return 1
"""

# Check a verification code: single use, bounded tries, bound to its purpose (the key carries the purpose).
# KEYS[1] code hash {digest, tries}
# ARGV[1] sha256 digest of the submitted code, ARGV[2] max tries
# Returns 1 ok (code deleted), 0 wrong, -1 no live code, -2 too many tries (code deleted).
VERIFY_CODE = """
local digest = redis.call('HGET', KEYS[1], 'digest')
if not digest then return -1 end
local tries = tonumber(redis.call('HGET', KEYS[1], 'tries') or '0')
if tries >= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]); return -2 end
if digest == ARGV[1] then redis.call('DEL', KEYS[1]); return 1 end
tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
if tries >= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) end
return 0
"""

SCRIPTS: dict[str, str] = {
    "claim_code_send": CLAIM_CODE_SEND,
    "release_code_send": RELEASE_CODE_SEND,
    "verify_code": VERIFY_CODE,
}


class Scripts:
    """The registered scripts of one client: ``await scripts.run("verify_code", keys, args)``."""

    def __init__(self, redis: Redis) -> None:
        self._scripts = {name: redis.register_script(source) for name, source in SCRIPTS.items()}

    async def run(self, name: str, keys: list[str], args: list[Any] | None = None) -> Any:
        return await self._scripts[name](keys=keys, args=args or [])
