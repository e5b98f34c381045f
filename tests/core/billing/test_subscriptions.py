import asyncio

import pytest

from core.billing.plans import FREE_PLAN, Limit, Plan, delete_plan, ensure_free_plan, save_plan
from core.billing.subscriptions import (
    active_subscription,
    add_subscription,
    current_plan,
    list_subscriptions,
)
from core.errors import InvalidInput, NotFound
from core.store.connection import Store

NOW = 1_700_000_000
DAY = 86_400
MONTH = 30 * DAY


@pytest.fixture
async def plans(store: Store) -> Store:
    await ensure_free_plan(store, ["gpt-4o-mini", "gpt-4o"])
    await save_plan(store, Plan("pro", "Pro", {"monthly": 2900}, {"gpt-4o": Limit(50, "3h")}))
    await save_plan(store, Plan("max", "Max", {"monthly": 9900}, {"gpt-4o": Limit(500, "3h")}))
    return store


async def test_without_subscription_the_plan_is_free(plans: Store) -> None:
    plan = await current_plan(plans, 1, NOW)
    assert plan.name == FREE_PLAN
    assert plan.limits["gpt-4o-mini"] == Limit(10, "3h")


async def test_active_subscription_gives_its_plan_until_it_ends(plans: Store) -> None:
    added = await add_subscription(plans, 1, "pro", MONTH, NOW, order_id="o-1")
    assert added.created
    assert (added.subscription.starts_at, added.subscription.ends_at) == (NOW, NOW + MONTH)
    assert (await current_plan(plans, 1, NOW)).name == "pro"
    assert (await current_plan(plans, 1, NOW + MONTH - 1)).name == "pro"
    # The original never enforced the end date: an ended subscription falls back to free.
    assert (await current_plan(plans, 1, NOW + MONTH)).name == FREE_PLAN
    assert (await current_plan(plans, 1, NOW + 2 * MONTH)).name == FREE_PLAN
    assert (await current_plan(plans, 1, NOW - 1)).name == FREE_PLAN


async def test_same_plan_purchases_extend(plans: Store) -> None:
    await add_subscription(plans, 1, "pro", MONTH, NOW, order_id="o-1")
    second = await add_subscription(plans, 1, "pro", MONTH, NOW + DAY, order_id="o-2")
    assert (second.subscription.starts_at, second.subscription.ends_at) == (NOW + MONTH, NOW + 2 * MONTH)
    assert (await current_plan(plans, 1, NOW + MONTH + DAY)).name == "pro"
    assert (await current_plan(plans, 1, NOW + 2 * MONTH)).name == FREE_PLAN


async def test_a_different_plan_queues_after_the_current_one(plans: Store) -> None:
    await add_subscription(plans, 1, "pro", MONTH, NOW, order_id="o-1")
    queued = await add_subscription(plans, 1, "max", MONTH, NOW + DAY, order_id="o-2")
    assert queued.subscription.starts_at == NOW + MONTH
    assert (await current_plan(plans, 1, NOW + DAY)).name == "pro"
    assert (await current_plan(plans, 1, NOW + MONTH)).name == "max"


async def test_a_purchase_after_expiry_starts_now(plans: Store) -> None:
    await add_subscription(plans, 1, "pro", MONTH, NOW, order_id="o-1")
    later = NOW + 3 * MONTH
    renewed = await add_subscription(plans, 1, "pro", MONTH, later, order_id="o-2")
    assert renewed.subscription.starts_at == later


async def test_free_subscriptions_do_not_delay_paid_ones(plans: Store) -> None:
    await add_subscription(plans, 1, FREE_PLAN, 10 * MONTH, NOW)
    paid = await add_subscription(plans, 1, "pro", MONTH, NOW, order_id="o-1")
    assert paid.subscription.starts_at == NOW
    active = await active_subscription(plans, 1, NOW + 1)
    assert active is not None and active.plan == "pro"


async def test_the_same_order_is_credited_once_even_concurrently(plans: Store) -> None:
    results = await asyncio.gather(*(add_subscription(plans, 1, "pro", MONTH, NOW, order_id="o-1") for _ in range(50)))
    assert sum(result.created for result in results) == 1
    assert len({result.subscription for result in results}) == 1
    subs = await list_subscriptions(plans, 1)
    assert len(subs) == 1 and subs[0].order_id == "o-1"
    again = await add_subscription(plans, 1, "pro", MONTH, NOW + DAY, order_id="o-1")
    assert not again.created
    assert again.subscription == subs[0]
    assert len(await list_subscriptions(plans, 1)) == 1


async def test_deleted_plan_falls_back_to_free_not_unlimited(plans: Store) -> None:
    await add_subscription(plans, 1, "pro", MONTH, NOW, order_id="o-1")
    await delete_plan(plans, "pro")
    plan = await current_plan(plans, 1, NOW + 1)
    assert plan.name == FREE_PLAN
    assert "gpt-4o-mini" in plan.limits


async def test_missing_free_record_is_an_empty_plan(store: Store) -> None:
    plan = await current_plan(store, 1, NOW)
    assert plan.name == FREE_PLAN and plan.limits == {}


async def test_bad_subscriptions_are_refused(plans: Store) -> None:
    with pytest.raises(NotFound):
        await add_subscription(plans, 1, "platinum", MONTH, NOW)
    for seconds in (0, -5, 1.5, True):
        with pytest.raises(InvalidInput):
            await add_subscription(plans, 1, "pro", seconds, NOW)  # type: ignore[arg-type]
    assert await list_subscriptions(plans, 1) == []


async def test_subscriptions_are_per_user(plans: Store) -> None:
    await add_subscription(plans, 1, "pro", MONTH, NOW, order_id="o-1")
    assert (await current_plan(plans, 2, NOW + 1)).name == FREE_PLAN
