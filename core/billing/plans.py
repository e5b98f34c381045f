"""Plans: name, title, prices per cycle in integer fen, per-model limits `{limit, window}`, optional daily token cap.

Plans live as JSON in the `cfg:plans` hash (runtime config, edited by admins, seen by every process within a second:
`cached_plans` is each process's copy, see core.store.config_cache).
`free` always exists and cannot be deleted. A model missing from a plan is not allowed on it: there is no
"unlimited" anywhere, neither for a missing model nor for a missing plan record (the original's defects).
The import/export shape is `[{"name","title","prices":{"monthly":0,...},"limits":{"<model>":{"limit":10,
"window":"3h"}},"daily_tokens"?,"description"?,"hidden"?,"position"?,"max_tokens"?,"max_prompt_tokens"?}]`;
prices may list any of the three cycles (a missing cycle is not sold). The optional caps: `daily_tokens` per UTC
day, and per request `max_tokens` (the most output a request may ask for; sent upstream when a request names no
maximum) and `max_prompt_tokens` (the prompt after fitting; older turns are dropped first).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.billing.rate_windows import normalize_window, parse_window
from core.errors import Forbidden, InvalidInput, NotFound
from core.store.config_cache import cached_config, forget_config
from core.store.connection import Store

log = logging.getLogger(__name__)

FREE_PLAN = "free"
CYCLES = ("monthly", "quarterly", "yearly")
# Seeded on first start: the first (cheapest by convention) model gets a usable allowance, the others a taste.
FREE_FIRST_MODEL_LIMIT = (10, "3h")
FREE_OTHER_MODEL_LIMIT = (5, "1d")
MAX_PRICE_FEN = 100_000_000  # one million yuan: anything above is a typo
MAX_LIMIT = 1_000_000
CONFIG_NAME = "plans"  # this process's cached copy (core.store.config_cache)
OPTIONAL_CAPS = ("daily_tokens", "max_tokens", "max_prompt_tokens")  # in the export only when set


@dataclass(frozen=True)
class Limit:
    limit: int
    window: str

    @property
    def seconds(self) -> int:
        return parse_window(self.window)


@dataclass(frozen=True)
class Plan:
    name: str
    title: str
    prices: dict[str, int] = field(default_factory=dict)
    limits: dict[str, Limit] = field(default_factory=dict)
    daily_tokens: int | None = None
    description: str = ""  # shown on the pricing page
    hidden: bool = False  # not offered on the pricing page (its subscribers keep it)
    position: int = 0  # order on the pricing page (lower first)
    max_tokens: int | None = None  # per request: the most output tokens a request may ask for
    max_prompt_tokens: int | None = None  # per request: the most prompt tokens, after fitting

    def to_dict(self) -> dict[str, Any]:
        """Return the import/export shape of this plan."""
        data: dict[str, Any] = {
            "name": self.name,
            "title": self.title,
            "prices": dict(self.prices),
            "limits": {model: {"limit": lim.limit, "window": lim.window} for model, lim in self.limits.items()},
        }
        for name in OPTIONAL_CAPS:
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        if self.description:
            data["description"] = self.description
        if self.hidden:
            data["hidden"] = True
        if self.position:
            data["position"] = self.position
        return data


def empty_free_plan() -> Plan:
    """Return the fallback used when even `free` is missing: no model allowed, never unlimited."""
    return Plan(name=FREE_PLAN, title="Free")


class _LimitSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    limit: Annotated[int, Field(gt=0, le=MAX_LIMIT)]
    window: str

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        try:
            return normalize_window(value)
        except InvalidInput as exc:
            raise ValueError(exc.message) from None


class _PlanSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]
    title: Annotated[str, Field(min_length=1, max_length=64)]
    prices: dict[Literal["monthly", "quarterly", "yearly"], Annotated[int, Field(ge=0, le=MAX_PRICE_FEN)]]
    limits: dict[Annotated[str, Field(pattern=r"^\S{1,128}$")], _LimitSpec]
    daily_tokens: Annotated[int, Field(gt=0)] | None = None
    description: Annotated[str, Field(max_length=500)] = ""
    hidden: bool = False
    position: Annotated[int, Field(ge=-1000, le=1000)] = 0
    max_tokens: Annotated[int, Field(gt=0)] | None = None
    max_prompt_tokens: Annotated[int, Field(gt=0)] | None = None


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "plan"
    message = first["msg"].removeprefix("Value error, ")
    if where.startswith("prices."):
        message += " (prices are integer fen: 29.90 yuan is 2990)"
    return f"{where}: {message}"


def plan_from_dict(data: object) -> Plan:
    """Validate one plan in the import/export shape; prices must be integer fen, windows like '3h'."""
    if not isinstance(data, dict):
        raise InvalidInput("A plan must be a JSON object.", field="plan")
    try:
        spec = _PlanSpec.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(_describe(exc), field="plan") from exc
    return Plan(
        name=spec.name,
        title=spec.title,
        prices={cycle: spec.prices[cycle] for cycle in CYCLES if cycle in spec.prices},
        limits={model: Limit(lim.limit, lim.window) for model, lim in spec.limits.items()},
        daily_tokens=spec.daily_tokens,
        description=spec.description,
        hidden=spec.hidden,
        position=spec.position,
        max_tokens=spec.max_tokens,
        max_prompt_tokens=spec.max_prompt_tokens,
    )


def _encode(plan: Plan) -> bytes:
    return orjson.dumps(plan.to_dict())


def _decode(name: str | bytes, raw: str | bytes | None) -> Plan | None:
    if raw is None:
        return None
    try:
        return plan_from_dict(orjson.loads(raw))
    except (orjson.JSONDecodeError, InvalidInput):
        # A hand-edited record that no longer validates is treated as missing: callers fall back to free.
        log.warning("plan record %r in the store is not valid; ignoring it", name)
        return None


async def get_plan(store: Store, name: str) -> Plan | None:
    """Return the plan called `name`, or None when there is no valid record."""
    return _decode(name, await store.redis.hget(store.keys.plans(), name))


async def list_plans(store: Store) -> list[Plan]:
    """Return every plan: free first, then by position, then by lowest price, then by name."""
    raw = await store.redis.hgetall(store.keys.plans())
    plans = [plan for name, value in raw.items() if (plan := _decode(name, value)) is not None]
    return sorted(plans, key=lambda p: (p.name != FREE_PLAN, p.position, min(p.prices.values(), default=0), p.name))


async def _plans_by_name(store: Store) -> dict[str, Plan]:
    return {plan.name: plan for plan in await list_plans(store)}


async def cached_plans(store: Store) -> dict[str, Plan]:
    """Return every valid plan by name from this process's copy of the config (at most ~1 s old; do not mutate)."""
    return await cached_config(store, CONFIG_NAME, _plans_by_name)


async def save_plan(store: Store, plan: Plan) -> Plan:
    """Validate and store one plan (create or replace)."""
    checked = plan_from_dict(plan.to_dict())
    await store.redis.hset(store.keys.plans(), checked.name, _encode(checked))
    forget_config(store, CONFIG_NAME)
    return checked


async def add_plan(store: Store, plan: Plan) -> bool:
    """Validate and store a new plan; False (nothing written) when one of that name exists."""
    checked = plan_from_dict(plan.to_dict())
    created = bool(await store.redis.hsetnx(store.keys.plans(), checked.name, _encode(checked)))
    forget_config(store, CONFIG_NAME)
    return created


async def delete_plan(store: Store, name: str) -> None:
    """Delete a plan; `free` cannot be deleted. Subscribers of a deleted plan fall back to free."""
    if name == FREE_PLAN:
        raise Forbidden("The free plan cannot be deleted.")
    deleted = await store.redis.hdel(store.keys.plans(), name)
    forget_config(store, CONFIG_NAME)
    if not deleted:
        raise NotFound(f"There is no plan named {name!r}.")


def validate_plans(data: object) -> list[Plan]:
    """Validate a whole import document; raise InvalidInput naming the first bad entry."""
    if not isinstance(data, list) or not data:
        raise InvalidInput("Plans must be a non-empty JSON list of plan objects.", field="plans")
    plans: list[Plan] = []
    seen: set[str] = set()
    for index, entry in enumerate(data):
        try:
            plan = plan_from_dict(entry)
        except InvalidInput as exc:
            raise InvalidInput(f"plans[{index}]: {exc.message}", field="plans", index=index) from exc
        if plan.name in seen:
            raise InvalidInput(f"plans[{index}]: plan {plan.name!r} appears twice.", field="plans", index=index)
        seen.add(plan.name)
        plans.append(plan)
    return plans


async def import_plans(store: Store, data: object) -> list[Plan]:
    """Validate every entry first, then create or replace them all in one MULTI; on any error write nothing.

    Plans not named in `data` are kept (import is an upsert, so a partial file cannot delete `free` or a plan
    that users are subscribed to).
    """
    plans = validate_plans(data)
    async with store.redis.pipeline(transaction=True) as pipe:
        pipe.hset(store.keys.plans(), mapping={plan.name: _encode(plan) for plan in plans})
        await pipe.execute()
    forget_config(store, CONFIG_NAME)
    return plans


async def export_plans(store: Store) -> list[dict[str, Any]]:
    """Return every plan in the import shape (export then import round-trips)."""
    return [plan.to_dict() for plan in await list_plans(store)]


def default_free_plan(model_ids: Sequence[str]) -> Plan:
    """Return the free plan seeded on first start for these models."""
    limits: dict[str, Limit] = {}
    for index, model in enumerate(model_ids):
        limit, window = FREE_FIRST_MODEL_LIMIT if index == 0 else FREE_OTHER_MODEL_LIMIT
        limits[model] = Limit(limit, window)
    return Plan(name=FREE_PLAN, title="Free", prices={}, limits=limits)


async def ensure_free_plan(store: Store, model_ids: Sequence[str]) -> Plan:
    """Seed `free` once (HSETNX, so every process may call this at start) and return the stored free plan."""
    seed = plan_from_dict(default_free_plan(model_ids).to_dict())
    await store.redis.hsetnx(store.keys.plans(), FREE_PLAN, _encode(seed))
    forget_config(store, CONFIG_NAME)
    return await get_plan(store, FREE_PLAN) or empty_free_plan()
