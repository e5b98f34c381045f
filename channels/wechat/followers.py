"""Who follows the official account: subscribe and unsubscribe events are recorded per openid.

``{wxf}:follow:<openid>`` (hash: state, subscribed_at, unsubscribed_at) and ``{wxf}:followers`` (zset of the openids
following now, by subscribe time, for counts and the dashboard).
"""

from __future__ import annotations

from core.store.connection import Store


async def record_subscribe(store: Store, openid: str, now: float) -> None:
    async with store.redis.pipeline(transaction=True) as pipe:  # one slot: {wxf}
        pipe.hset(store.keys.wechat_follower(openid), mapping={"state": "subscribed", "subscribed_at": now})
        pipe.zadd(store.keys.wechat_followers(), {openid: now})
        await pipe.execute()


async def record_unsubscribe(store: Store, openid: str, now: float) -> None:
    async with store.redis.pipeline(transaction=True) as pipe:  # one slot: {wxf}
        pipe.hset(store.keys.wechat_follower(openid), mapping={"state": "unsubscribed", "unsubscribed_at": now})
        pipe.zrem(store.keys.wechat_followers(), openid)
        await pipe.execute()
