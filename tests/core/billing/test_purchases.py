"""The purchase rule (core.billing.purchases, Lua GRANT_TIME): renewals stack, an upgrade converts the unused value
to the second, a downgrade queues; previews write nothing; a grant happens once per order id."""

from __future__ import annotations

import pytest

from core.billing.plans import FREE_PLAN, Limit, Plan, ensure_free_plan, save_plan
from core.billing.purchases import current_term, grant_time, list_rate, preview_purchase, price_of
from core.billing.subscriptions import current_plan, list_subscriptions
from core.errors import InvalidInput, PlanNotForSale
from core.settings import Settings
from core.store.connection import Store

NOW = 1_800_000_000
DAY = 86_400
MONTH = 30 * DAY


@pytest.fixture
async def plans(store: Store) -> Store:
    await ensure_free_plan(store, ["gpt-4o-mini"])
    await save_plan(store, Plan("basic", "Basic", {"monthly": 1500}, {"gpt-4o-mini": Limit(20, "3h")}))
    await save_plan(store, Plan("pro", "Pro", {"monthly": 2900, "yearly": 29900}, {"gpt-4o": Limit(50, "3h")}))
    await save_plan(store, Plan("max", "Max", {"monthly": 9900}, {"gpt-4o": Limit(500, "3h")}))
    return store


async def buy(store: Store, settings: Settings, plan: str, cycle: str, now: int, order: str) -> tuple[int, int, str]:
    price = await price_of(store, settings, plan, cycle)
    grant = await grant_time(store, settings, 1, plan, price.seconds, fen=price.amount, order_id=order,
                             source="order", now=now)  # fmt: skip
    assert grant.created
    return grant.subscription.starts_at, grant.subscription.ends_at, grant.mode


async def test_renewals_of_the_same_plan_stack_from_the_current_end(plans: Store, settings: Settings) -> None:
    assert await buy(plans, settings, "pro", "monthly", NOW, "o1") == (NOW, NOW + MONTH, "new")
    assert await buy(plans, settings, "pro", "monthly", NOW + DAY, "o2") == (NOW + MONTH, NOW + 2 * MONTH, "extend")
    yearly = 365 * DAY
    assert await buy(plans, settings, "pro", "yearly", NOW + 2 * DAY, "o3") == (
        NOW + 2 * MONTH, NOW + 2 * MONTH + yearly, "extend")  # fmt: skip
    term = await current_term(plans, 1, NOW + 3 * DAY)
    assert (term.plan, term.ends_at) == ("pro", NOW + 2 * MONTH + yearly)
    assert (await current_plan(plans, 1, NOW + 2 * MONTH + yearly)).name == FREE_PLAN


async def test_an_upgrade_converts_the_unused_value_to_the_second(plans: Store, settings: Settings) -> None:
    await buy(plans, settings, "pro", "monthly", NOW, "o1")
    await buy(plans, settings, "pro", "monthly", NOW, "o2")  # two months of pro, 2900 fen each
    later = NOW + 10 * DAY + 12_345
    # The rule by hand: each segment's remaining seconds times its fen per second (whole fen), then the value buys
    # seconds of max at max's price per second (9900 fen / 30 days).
    value = (MONTH - (later - NOW)) * 2900 // MONTH + MONTH * 2900 // MONTH
    extra = value * MONTH // 9900
    starts, ends, mode = await buy(plans, settings, "max", "monthly", later, "o3")
    assert (starts, ends, mode) == (later, later + MONTH + extra, "upgrade")
    assert (value, extra) == (4819, 1_261_701)  # 1919 + 2900 fen of pro: 14.6 days of max at 9900 fen per 30 days
    subs = await list_subscriptions(plans, 1)
    assert [(s.plan, s.starts_at, s.ends_at) for s in subs] == [("pro", NOW, later), ("max", later, ends)]
    upgraded = subs[1]
    assert (upgraded.converted_fen, upgraded.bonus_seconds, upgraded.fen) == (value, extra, 9900 + value)
    assert (await current_plan(plans, 1, later)).name == "max"
    assert (await current_plan(plans, 1, later - 1)).name == "pro"


async def test_a_downgrade_queues_after_the_paid_time(plans: Store, settings: Settings) -> None:
    await buy(plans, settings, "pro", "monthly", NOW, "o1")
    assert await buy(plans, settings, "basic", "monthly", NOW + DAY, "o2") == (
        NOW + MONTH, NOW + 2 * MONTH, "downgrade")  # fmt: skip
    assert (await current_plan(plans, 1, NOW + DAY)).name == "pro"
    assert (await current_plan(plans, 1, NOW + MONTH)).name == "basic"
    term = await current_term(plans, 1, NOW + DAY)
    assert (term.plan, term.ends_at) == ("pro", NOW + MONTH)  # the current plan's end, not the queued one's


async def test_queued_time_moves_behind_an_extension_and_an_upgrade(plans: Store, settings: Settings) -> None:
    await buy(plans, settings, "pro", "monthly", NOW, "o1")
    await buy(plans, settings, "basic", "monthly", NOW, "o2")  # queued: NOW+MONTH .. NOW+2*MONTH
    assert await buy(plans, settings, "pro", "monthly", NOW, "o3") == (NOW + MONTH, NOW + 2 * MONTH, "extend")
    by_plan = {s.plan: (s.starts_at, s.ends_at) for s in await list_subscriptions(plans, 1)}
    assert by_plan["basic"] == (NOW + 2 * MONTH, NOW + 3 * MONTH)  # moved back, length kept
    starts, ends, mode = await buy(plans, settings, "max", "monthly", NOW + DAY, "o4")
    assert mode == "upgrade" and starts == NOW + DAY
    basic = next(s for s in await list_subscriptions(plans, 1) if s.plan == "basic")
    assert (basic.starts_at, basic.ends_at) == (ends, ends + MONTH)  # follows the new plan, never lost


async def test_a_preview_writes_nothing_and_matches_the_purchase(plans: Store, settings: Settings) -> None:
    await buy(plans, settings, "pro", "monthly", NOW, "o1")
    price = await price_of(plans, settings, "max", "monthly")
    preview = await preview_purchase(plans, settings, 1, price, NOW + DAY)
    assert len(await list_subscriptions(plans, 1)) == 1
    starts, ends, mode = await buy(plans, settings, "max", "monthly", NOW + DAY, "o2")
    assert (preview.subscription.starts_at, preview.subscription.ends_at, preview.mode) == (starts, ends, mode)


async def test_a_grant_happens_once_per_order_id(plans: Store, settings: Settings) -> None:
    first = await grant_time(plans, settings, 1, "pro", MONTH, fen=2900, order_id="o1", source="order", now=NOW)
    again = await grant_time(plans, settings, 1, "pro", MONTH, fen=2900, order_id="o1", source="order", now=NOW)
    assert first.created and not again.created and again.subscription == first.subscription
    assert len(await list_subscriptions(plans, 1)) == 1


async def test_prices_come_from_the_plan_and_bad_choices_are_refused(plans: Store, settings: Settings) -> None:
    price = await price_of(plans, settings, "pro", "yearly")
    assert (price.amount, price.seconds) == (29900, 365 * DAY)
    custom = settings.model_copy(update={"CYCLE_MONTHLY_DAYS": 31})
    assert (await price_of(plans, custom, "pro", "monthly")).seconds == 31 * DAY
    refused = [("nope", "monthly", InvalidInput), ("pro", "weekly", InvalidInput),
               ("pro", "quarterly", PlanNotForSale), (FREE_PLAN, "monthly", PlanNotForSale)]  # fmt: skip
    for plan, cycle, error in refused:
        with pytest.raises(error):
            await price_of(plans, settings, plan, cycle)
    assert list_rate(Plan("x", "X", {"monthly": 3000, "yearly": 36500}), settings) == 36500 / (365 * DAY)
