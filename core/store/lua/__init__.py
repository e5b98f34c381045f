"""Every Lua script ChatGate runs, one module per domain, each documented with its KEYS / ARGV / return.

Each script is one atomic check-then-act. Scripts only touch the keys passed in KEYS (Redis Cluster safe: the keys
of one call share a hash tag). `SCRIPTS` names them all; `Scripts` wraps redis-py's `register_script`, which runs
EVALSHA and reloads on NOSCRIPT, so a store restart or failover is transparent. On a single store reached over TCP
or a unix socket the calls go through an auto-pipelining lane (core.store.pipelined): the calls of one event-loop
turn share one write and one read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import SSLConnection
from redis.exceptions import NoScriptError

from core.store.lua import accounts, api_keys, billing, common, moderation, purchases, relay, site, wechat
from core.store.pipelined import PipelinedLane

SCRIPTS: dict[str, str] = {
    "claim_code_send": accounts.CLAIM_CODE_SEND,
    "release_code_send": accounts.RELEASE_CODE_SEND,
    "verify_code": accounts.VERIFY_CODE,
    "take_attempt": accounts.TAKE_ATTEMPT,
    "take_account_attempt": accounts.TAKE_ACCOUNT_ATTEMPT,
    "return_attempt": accounts.RETURN_ATTEMPT,
    "touch_session": accounts.TOUCH_SESSION,
    "consume_quota": billing.CONSUME_QUOTA,
    "use_reset_chance": billing.USE_RESET_CHANCE,
    "add_subscription": billing.ADD_SUBSCRIPTION,
    "current_subscription": billing.CURRENT_SUBSCRIPTION,
    "record_usage": billing.RECORD_USAGE,
    "note_activity": billing.NOTE_ACTIVITY,
    "grant_time": purchases.GRANT_TIME_SCRIPT,
    "credit_order": purchases.CREDIT_ORDER,
    "transition_status": purchases.TRANSITION_STATUS,
    "claim_redemption_code": purchases.CLAIM_REDEMPTION_CODE,
    "apply_redemption": purchases.APPLY_REDEMPTION,
    "grant_invite_reward": purchases.GRANT_INVITE_REWARD,
    "add_commission": purchases.ADD_COMMISSION,
    "refund_order": purchases.REFUND_ORDER,
    "settle_call": billing.SETTLE_CALL,
    "settle_and_count": billing.SETTLE_AND_COUNT,
    "refund_call": billing.REFUND_CALL,
    "renew_stream": billing.RENEW_STREAM,
    "tokens_today": billing.TOKENS_TODAY,
    "resolve_api_key": api_keys.RESOLVE_API_KEY,
    "authorize_api_key_chat": api_keys.AUTHORIZE_API_KEY_CHAT,
    "upstream_failure": relay.UPSTREAM_FAILURE,
    "read_words": moderation.READ_WORDS,
    "set_max": common.SET_MAX,
    "renew_lease": common.RENEW_LEASE,
    "release_lease": common.RELEASE_LEASE,
    "wechat_arrive": wechat.WECHAT_ARRIVE,
    "wechat_finish": wechat.WECHAT_FINISH,
    "wechat_take": wechat.WECHAT_TAKE,
    "wechat_give_up": wechat.WECHAT_GIVE_UP,
    "wechat_drop_token": wechat.WECHAT_DROP_TOKEN,
    "audit_append": site.AUDIT_APPEND,
    "revenue_once": site.REVENUE_ONCE,
}


class Scripts:
    """The registered scripts of one client: ``await scripts.run("verify_code", keys, args)``."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self.cluster = isinstance(redis, RedisCluster)  # scripts touching several slots must be split there
        self._scripts = {name: redis.register_script(source) for name, source in SCRIPTS.items()}
        self._lane = None if self.cluster else _lane_for(redis)

    async def run(self, name: str, keys: list[str], args: list[Any] | None = None) -> Any:
        script = self._scripts[name]
        if self._lane is not None:
            try:
                return await self._lane.execute("EVALSHA", script.sha, len(keys), *keys, *(args or ()))
            except NoScriptError:
                pass  # the store lost it (a restart) and did not run it: redis-py's path loads it and runs it
        return await script(keys=keys, args=args or [])

    async def close(self) -> None:
        if self._lane is not None:
            await self._lane.close()

    async def run_all(self, calls: Sequence[tuple[str, list[str], list[Any]]]) -> list[Any]:
        """Run several scripts in one round trip (each atomic, not all together); a script the store lost is
        loaded and that call alone re-run (NOSCRIPT means it did not run). A cluster client cannot pipeline scripts
        (their keys may live on other nodes): there they run concurrently instead, as through the lane."""
        if self.cluster or self._lane is not None:  # the lane pipelines calls made together by itself
            return list(await asyncio.gather(*(self.run(name, keys, args) for name, keys, args in calls)))
        async with self._redis.pipeline(transaction=False) as pipe:
            for name, keys, args in calls:
                pipe.evalsha(self._scripts[name].sha, len(keys), *keys, *args)
            results = await pipe.execute(raise_on_error=False)
        for index, (name, keys, args) in enumerate(calls):
            if isinstance(results[index], NoScriptError):
                results[index] = await self.run(name, keys, args)
            elif isinstance(results[index], Exception):
                raise results[index]
        return results


def _lane_for(redis: Redis) -> PipelinedLane | None:
    """The pipelining lane to a single store's pool (None for TLS: that keeps redis-py's connections)."""
    pool = getattr(redis, "connection_pool", None)
    if pool is None or issubclass(pool.connection_class, SSLConnection):
        return None
    return PipelinedLane.for_pool(pool, pool.connection_kwargs.get("socket_connect_timeout") or 10.0)
