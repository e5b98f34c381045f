from typing import Any

import pytest

from core.billing.plans import (
    FREE_PLAN,
    Limit,
    Plan,
    delete_plan,
    ensure_free_plan,
    export_plans,
    get_plan,
    import_plans,
    list_plans,
    plan_from_dict,
    save_plan,
)
from core.errors import Forbidden, InvalidInput, NotFound
from core.store.connection import Store


def pro(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "pro",
        "title": "Pro",
        "prices": {"monthly": 2900, "quarterly": 7900, "yearly": 29900},
        "limits": {"gpt-4o-mini": {"limit": 100, "window": "3h"}, "gpt-4o": {"limit": 20, "window": "1d"}},
    }
    data.update(changes)
    return data


async def test_free_plan_is_seeded_once_with_limits_for_the_models(store: Store) -> None:
    free = await ensure_free_plan(store, ["gpt-4o-mini", "gpt-4o"])
    assert free.name == FREE_PLAN
    assert free.limits["gpt-4o-mini"] == Limit(10, "3h")
    assert "gpt-4o" in free.limits
    # An operator's edit survives the next start.
    await save_plan(store, Plan(FREE_PLAN, "Starter", {}, {"gpt-4o-mini": Limit(3, "1h")}))
    again = await ensure_free_plan(store, ["gpt-4o-mini", "gpt-4o"])
    assert again.title == "Starter"
    assert again.limits == {"gpt-4o-mini": Limit(3, "1h")}


async def test_free_plan_cannot_be_deleted(store: Store) -> None:
    await ensure_free_plan(store, ["m"])
    with pytest.raises(Forbidden):
        await delete_plan(store, FREE_PLAN)
    assert await get_plan(store, FREE_PLAN) is not None


async def test_delete_plan(store: Store) -> None:
    await import_plans(store, [pro()])
    await delete_plan(store, "pro")
    assert await get_plan(store, "pro") is None
    with pytest.raises(NotFound):
        await delete_plan(store, "pro")


async def test_import_then_export_round_trips(store: Store) -> None:
    free = {"name": "free", "title": "Free", "prices": {}, "limits": {"gpt-4o-mini": {"limit": 10, "window": "3h"}}}
    capped = pro(name="max", title="Max", daily_tokens=200_000, prices={"monthly": 9900})
    per_request = pro(name="lite", title="Lite", max_tokens=1000, max_prompt_tokens=8000, prices={"monthly": 990})
    data = [free, pro(), capped, per_request]
    imported = await import_plans(store, data)
    assert [plan.name for plan in imported] == ["free", "pro", "max", "lite"]
    assert (imported[3].max_tokens, imported[3].max_prompt_tokens) == (1000, 8000)
    exported = await export_plans(store)
    assert sorted(exported, key=lambda p: p["name"]) == sorted(data, key=lambda p: p["name"])
    assert exported[0]["name"] == "free"  # free first, then by price
    await store.redis.flushall()
    await import_plans(store, exported)
    assert await export_plans(store) == exported


async def test_import_normalizes_window_spelling(store: Store) -> None:
    await import_plans(store, [pro(limits={"m": {"limit": 5, "window": "3 H"}})])
    assert (await export_plans(store))[0]["limits"] == {"m": {"limit": 5, "window": "3h"}}


@pytest.mark.parametrize(
    "bad",
    [
        pro(prices={"monthly": 29.9}),
        pro(prices={"monthly": 2900.0}),
        pro(prices={"monthly": -1}),
        pro(prices={"monthly": "2900"}),
        pro(prices={"monthly": True}),
        pro(prices={"weekly": 100}),
        pro(limits={"gpt-4o": {"limit": 0, "window": "3h"}}),
        pro(limits={"gpt-4o": {"limit": 10.5, "window": "3h"}}),
        pro(limits={"gpt-4o": {"limit": 10, "window": "3 hours"}}),
        pro(limits={"gpt-4o": {"limit": 10}}),
        pro(limits={"gpt-4o": {"limit": 10, "window": "3h", "burst": 2}}),
        pro(name=""),
        pro(name="has space"),
        pro(title=""),
        pro(daily_tokens=0),
        pro(max_tokens=0),
        pro(max_tokens=10.5),
        pro(max_prompt_tokens=-5),
        pro(max_prompt_tokens="8000"),
        pro(extra=1),
        {"name": "pro", "title": "Pro"},
        "pro",
    ],
)
async def test_import_writes_nothing_when_one_entry_is_bad(store: Store, bad: object) -> None:
    good = pro(name="basic", title="Basic")
    with pytest.raises(InvalidInput) as caught:
        await import_plans(store, [good, bad])
    assert caught.value.message.startswith("plans[1]")
    assert await store.redis.exists(store.keys.plans()) == 0


@pytest.mark.parametrize("bad", [[], {}, "[]", None, [pro(), pro()]])
async def test_import_rejects_bad_documents(store: Store, bad: object) -> None:
    with pytest.raises(InvalidInput):
        await import_plans(store, bad)
    assert await store.redis.exists(store.keys.plans()) == 0


async def test_import_keeps_plans_it_does_not_name(store: Store) -> None:
    await ensure_free_plan(store, ["m"])
    await import_plans(store, [pro()])
    assert [plan.name for plan in await list_plans(store)] == ["free", "pro"]


def test_prices_are_integer_fen() -> None:
    plan = plan_from_dict(pro())
    assert plan.prices == {"monthly": 2900, "quarterly": 7900, "yearly": 29900}
    assert all(type(price) is int for price in plan.prices.values())
    with pytest.raises(InvalidInput, match=r"prices\.monthly"):
        plan_from_dict(pro(prices={"monthly": 29.9}))


async def test_save_plan_validates(store: Store) -> None:
    with pytest.raises(InvalidInput):
        await save_plan(store, Plan("pro", "Pro", {"monthly": -5}, {}))
    with pytest.raises(InvalidInput):
        await save_plan(store, Plan("pro", "Pro", {}, {"m": Limit(10, "soon")}))
    assert await get_plan(store, "pro") is None


async def test_a_corrupt_record_reads_as_missing(store: Store) -> None:
    await store.redis.hset(store.keys.plans(), "pro", '{"name": "pro", "limits": "unlimited"}')
    assert await get_plan(store, "pro") is None
    assert await list_plans(store) == []
