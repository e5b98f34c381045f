"""Connecting to the store: one redis-py asyncio client, the key schema, the registered Lua scripts and this
process's caches over them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.store.keys import Keys
from core.store.lua import Scripts
from core.store.packing import fast_packing
from core.store.single_flight import SingleFlightCache

STORE_ERRORS = (RedisConnectionError, RedisTimeoutError)  # the store is away (ClusterDownError is a ConnectionError)


@dataclass
class Store:
    """The store handle passed to every core function: client, key builder, scripts, per-process caches.

    The caches belong to this handle (one per process, built with it), never to a module: a new handle (a test, a
    restart) starts cold. `config` holds runtime config (core.store.config_cache); `api_key_owners` maps API-key
    digests this process has resolved to "<uid>:<key id>" (core.accounts.api_keys), re-validated on every use;
    `api_key_touches` when this process last claimed a key's `last_used_at` write (one at a time per key).
    """

    redis: Redis
    keys: Keys
    scripts: Scripts = field(init=False)
    config: SingleFlightCache[str, Any] = field(init=False)
    api_key_owners: dict[str, str] = field(init=False, default_factory=dict)
    api_key_touches: dict[str, float] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.scripts = Scripts(self.redis)
        self.config = SingleFlightCache(ttl=0.0)  # core.store.config_cache passes its TTL with each read

    async def close(self) -> None:
        await self.scripts.close()
        await self.redis.aclose()


def connect(
    url: str, password: str = "", prefix: str = "cg", max_connections: int = 512, cluster: bool = False
) -> Store:
    """Open a client for a redis://, rediss:// (TLS, e.g. Upstash) or unix:// URL; REDIS_TOKEN is the password.

    The pool blocks (up to 10 s) when every connection is busy instead of failing: a burst of streams waits for a
    connection rather than erroring. With `cluster`, `url` names any node of a Redis Cluster and the client discovers
    the rest (every multi-key script and transaction of ChatGate stays inside one hash slot).
    """
    if cluster:
        client = RedisCluster.from_url(
            url, password=password or None, decode_responses=True, max_connections=max_connections,
            socket_connect_timeout=5,
        )  # fmt: skip
        return Store(redis=client, keys=Keys(prefix=prefix))  # type: ignore[arg-type]  # the same command API
    pool = BlockingConnectionPool.from_url(
        url,
        password=password or None,
        decode_responses=True,
        max_connections=max_connections,
        timeout=10,
        health_check_interval=30,
        # A store that never answers is an error after 10 s, not a hang. Not less: on a loopback or unix socket the
        # connect itself is instant, and what this times is the event loop getting back to it, which a burst of
        # hundreds of requests on a CPU-starved machine can hold up for seconds (as long as the pool's own wait).
        socket_connect_timeout=10,
    )
    fast_packing(pool)
    return Store(redis=Redis.from_pool(pool), keys=Keys(prefix=prefix))  # the client owns and closes the pool
