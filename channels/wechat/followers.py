"""Who follows the official account: subscribe and unsubscribe events are recorded per openid.

``wx:follow:<openid>`` (hash: state, subscribed_at, unsubscribed_at) and ``wx:followers`` (zset of the openids
following now, by subscribe time, for counts and the dashboard). The two live in different hash slots (one key per
follower, one index), so they are written in one round trip but not as one transaction, which a Redis Cluster
refuses across slots; each write repeats the event's whole state, so a repeated event sets the same again.
"""

from __future__ import annotations

from core.store.connection import Store


async def record_subscribe(store: Store, openid: str, now: float) -> None:
    async with store.redis.pipeline(transaction=False) as pipe:
        pipe.hset(store.keys.wechat_follower(openid), mapping={"state": "subscribed", "subscribed_at": now})
        pipe.zadd(store.keys.wechat_followers(), {openid: now})
        await pipe.execute()


async def record_unsubscribe(store: Store, openid: str, now: float) -> None:
    async with store.redis.pipeline(transaction=False) as pipe:
        pipe.hset(store.keys.wechat_follower(openid), mapping={"state": "unsubscribed", "unsubscribed_at": now})
        pipe.zrem(store.keys.wechat_followers(), openid)
        await pipe.execute()
