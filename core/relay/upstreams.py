"""Choosing an upstream: priority, then weighted random; health kept in the store so every process agrees.

Health of one upstream lives in the hash up:health:<id> {fails, benched_until, last_error, failed_at}. After
UPSTREAM_FAILS_TO_BENCH consecutive failures it is benched for UPSTREAM_BENCH_SECONDS; when the bench is over,
exactly one request (SET NX probe lock) may try it, and its outcome either clears the health or benches it again.
A failed request moves on to the next upstream in the order, never back to the same one (one-api's bug).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.errors import UpstreamError
from core.relay.catalogue import Model, Upstream
from core.settings import Settings
from core.store.connection import Store
from core.store.single_flight import SingleFlightCache

if TYPE_CHECKING:
    import openai

HEALTH_CACHE_SECONDS = 1.0


@dataclass(frozen=True)
class Health:
    fails: int = 0
    benched_until: float = 0.0
    last_error: str = ""

    def benched(self, now: float) -> bool:
        return self.benched_until > now


@dataclass(frozen=True)
class Attempt:
    """One upstream to try; `probe` means its bench is over and only the holder of the probe lock may try it."""

    upstream: Upstream
    health: Health
    probe: bool = False


@dataclass(frozen=True)
class UpstreamCheck:
    ok: bool
    latency_ms: int
    error: str = ""


async def upstream_health(store: Store, upstream_ids: Sequence[str]) -> dict[str, Health]:
    """Read the health of several upstreams in one round trip."""
    fields = ("fails", "benched_until", "last_error")
    if len(upstream_ids) == 1:  # the common case; a pipeline costs more than it saves for one command
        rows = [await store.redis.hmget(store.keys.upstream_health(upstream_ids[0]), fields)]
    else:
        pipe = store.redis.pipeline(transaction=False)
        for upstream_id in upstream_ids:
            pipe.hmget(store.keys.upstream_health(upstream_id), fields)
        rows = await pipe.execute()
    return {
        upstream_id: Health(int(fails or 0), float(benched or 0), str(error or ""))
        for upstream_id, (fails, benched, error) in zip(upstream_ids, rows, strict=True)
    }


class HealthCache:
    """This process's copy of upstream health, re-read from the store at most every `ttl` seconds.

    Keeps the store off the per-request path; another process's bench reaches us within `ttl`, our own failures and
    recoveries at once (`forget`). One copy per set of upstreams (a model's), read in one round trip; when it is
    stale, one caller re-reads it while the others keep using the stale copy (core.store.single_flight).
    """

    def __init__(self, ttl: float = HEALTH_CACHE_SECONDS) -> None:
        self._copies: SingleFlightCache[tuple[str, ...], dict[str, Health]] = SingleFlightCache(ttl, serve_stale=True)

    async def get(self, store: Store, upstream_ids: Sequence[str], now: float) -> dict[str, Health]:
        """Return the health of each upstream."""
        ids = tuple(upstream_ids)
        return await self._copies.get(ids, lambda: upstream_health(store, ids), now)

    def forget(self, upstream_id: str) -> None:
        self._copies.forget_where(lambda ids: upstream_id in ids)


async def plan_attempts(
    store: Store,
    model: Model,
    now: float,
    rng: random.Random | None = None,
    cache: HealthCache | None = None,
) -> list[Attempt]:
    """Return the upstreams to try in order: benched ones left out, the rest by priority then weighted random.

    When every upstream of the model is benched, the one whose bench ends first is offered as a probe: one request
    at a time (the probe lock) tries it early, so the model comes back as soon as it answers again instead of
    refusing every call until the bench is over.
    """
    usable = [upstream for upstream in model.upstreams if upstream.enabled]  # disabled in the dashboard: never
    ids = [upstream.id for upstream in usable]
    if not ids:
        return []
    health = await cache.get(store, ids, now) if cache else await upstream_health(store, ids)
    attempts = []
    for upstream in usable:
        state = health[upstream.id]
        if not state.benched(now):
            attempts.append(Attempt(upstream, state, probe=state.benched_until > 0))
    if not attempts:
        first = min(usable, key=lambda upstream: health[upstream.id].benched_until)
        return [Attempt(first, health[first.id], probe=True)]
    return order_attempts(attempts, rng or random.Random())


def order_attempts(attempts: list[Attempt], rng: random.Random) -> list[Attempt]:
    """Sort by priority (higher first), then a weighted random order within each priority.

    Efraimidis–Spirakis: sorting by u ** (1 / weight) draws a weighted sample without replacement, so the
    first pick is proportional to weight and the fallbacks follow in weighted order too. Weight 0 = standby.
    """

    def draw(attempt: Attempt) -> float:
        weight = attempt.upstream.weight
        return rng.random() ** (1.0 / weight) if weight > 0 else -math.inf

    keyed = [(-attempt.upstream.priority, -draw(attempt), index) for index, attempt in enumerate(attempts)]
    return [attempts[index] for _, _, index in sorted(keyed)]


def probe_lock_seconds(settings: Settings) -> int:
    """Return how long a probe may hold its lock: long enough for connect + first byte, then it frees itself."""
    return math.ceil(settings.UPSTREAM_CONNECT_TIMEOUT + settings.UPSTREAM_FIRST_BYTE_TIMEOUT) + 1


async def claim_probe(store: Store, settings: Settings, upstream_id: str) -> bool:
    """Take the one probe slot of an upstream whose bench is over; False when another request holds it."""
    key = store.keys.upstream_probe(upstream_id)
    return bool(await store.redis.set(key, "1", nx=True, ex=probe_lock_seconds(settings)))


async def record_success(store: Store, upstream_id: str) -> None:
    """Clear an upstream's failures and bench (callers skip this when it had none: no write per request)."""
    pipe = store.redis.pipeline(transaction=False)
    pipe.hset(store.keys.upstream_health(upstream_id), mapping={"fails": 0, "benched_until": 0})
    pipe.delete(store.keys.upstream_probe(upstream_id))
    await pipe.execute()


async def record_failure(
    store: Store, settings: Settings, upstream_id: str, now: float, error: str, probe: bool = False
) -> bool:
    """Count a failure (atomically) and bench the upstream at the threshold; True when it is benched now."""
    benched_until = now + settings.UPSTREAM_BENCH_SECONDS
    args = [settings.UPSTREAM_FAILS_TO_BENCH, repr(benched_until), error[:300], repr(now)]
    _, benched = await store.scripts.run("upstream_failure", [store.keys.upstream_health(upstream_id)], args)
    if probe:
        await store.redis.delete(store.keys.upstream_probe(upstream_id))
    return bool(benched)


async def reset_health(store: Store, upstream_id: str) -> None:
    """Forget an upstream's failures and bench (the dashboard's "un-bench" action)."""
    await store.redis.delete(store.keys.upstream_health(upstream_id))
    await store.redis.delete(store.keys.upstream_probe(upstream_id))


def sdk_client(upstream: Upstream, settings: Settings) -> openai.AsyncOpenAI:
    """Build an openai SDK client for one upstream, without SDK retries (failover is ours)."""
    import openai  # imported here: the SDK's models cost ~20 MB and a second of start-up on the hot path's side

    timeout = openai.Timeout(settings.UPSTREAM_FIRST_BYTE_TIMEOUT, connect=settings.UPSTREAM_CONNECT_TIMEOUT)
    key = upstream.keys[0] if upstream.keys else "none"
    if upstream.kind == "azure":
        return openai.AsyncAzureOpenAI(
            azure_endpoint=upstream.base_url,
            azure_deployment=upstream.deployment,
            api_version=upstream.api_version,
            api_key=key,
            max_retries=0,
            timeout=timeout,
        )
    return openai.AsyncOpenAI(base_url=upstream.base_url, api_key=key, max_retries=0, timeout=timeout)


async def list_upstream_models(upstream: Upstream, settings: Settings) -> list[str]:
    """Return the model ids an upstream offers (GET /models), for the dashboard's model picker."""
    import openai

    client = sdk_client(upstream, settings)
    try:
        return sorted([model.id async for model in client.models.list()])
    except openai.OpenAIError as exc:
        raise UpstreamError(f"The upstream did not list its models: {exc}") from exc
    finally:
        await client.close()


async def check_upstream(upstream: Upstream, model_id: str, settings: Settings) -> UpstreamCheck:
    """Send a one-token chat request through an upstream and report whether and how fast it answered."""
    import openai

    client = sdk_client(upstream, settings)
    started = time.perf_counter()
    try:
        await client.chat.completions.create(
            model=model_id, messages=[{"role": "user", "content": "ping"}], max_tokens=1
        )
    except openai.OpenAIError as exc:
        return UpstreamCheck(False, _elapsed_ms(started), str(exc)[:300])
    finally:
        await client.close()
    return UpstreamCheck(True, _elapsed_ms(started))


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
