"""Redemption codes: batches, single use under concurrency, one error for every unusable code, throttling."""

from __future__ import annotations

import asyncio

import pytest

from core.accounts.registration import register_user
from core.billing.plans import Limit, Plan, ensure_free_plan, save_plan
from core.billing.redemption import CODE_LENGTH, format_code, generate_codes, list_redemptions, redeem_code
from core.billing.redemption_admin import batch_codes, disable_batch, disable_code, list_batches
from core.billing.subscriptions import current_plan, list_subscriptions
from core.errors import InvalidInput, InvalidRedemptionCode, NotFound, TooManyAttempts
from core.settings import Settings
from core.store.connection import Store

NOW = 1_800_000_000
DAY = 86_400


@pytest.fixture
async def shop(store: Store, settings: Settings) -> Store:
    await ensure_free_plan(store, ["gpt-4o-mini"])
    await save_plan(store, Plan("pro", "Pro", {"monthly": 2900}, {"gpt-4o": Limit(50, "3h")}))
    for email in ("alice@example.com", "bob@example.com"):
        await register_user(store, settings, None, email=email, password="pw12345678", now=NOW)
    return store


async def test_a_plan_code_adds_time_once_and_is_listed(shop: Store, settings: Settings) -> None:
    batch = await generate_codes(shop, plan="pro", days=30, count=3, now=NOW)
    assert len(batch.codes) == 3 and all(len(code) == CODE_LENGTH for code in batch.codes)
    typed = format_code(batch.codes[0]).lower().replace("-", " ")  # case and separators do not matter
    redeemed = await redeem_code(shop, settings, 1, typed, now=NOW)
    assert (redeemed.kind, redeemed.plan, redeemed.days, redeemed.ends_at) == ("plan", "pro", 30, NOW + 30 * DAY)
    assert (await current_plan(shop, 1, NOW + 1)).name == "pro"
    with pytest.raises(InvalidRedemptionCode):  # used: by the same user too
        await redeem_code(shop, settings, 1, batch.codes[0], now=NOW)
    with pytest.raises(InvalidRedemptionCode):
        await redeem_code(shop, settings, 2, batch.codes[0], now=NOW)
    second = await redeem_code(shop, settings, 1, batch.codes[1], now=NOW + DAY)
    assert (second.subscription and second.subscription.mode, second.ends_at) == ("extend", NOW + 60 * DAY)
    history = await list_redemptions(shop, 1)
    assert [r.code_hint for r in history] == [f"…{batch.codes[1][-4:]}", f"…{batch.codes[0][-4:]}"]
    statuses = [code.status for code in await batch_codes(shop, batch.id)]
    assert statuses == ["used", "used", "new"]


async def test_a_reset_chance_code(shop: Store, settings: Settings) -> None:
    batch = await generate_codes(shop, reset_chances=3, count=1, now=NOW)
    redeemed = await redeem_code(shop, settings, 2, batch.codes[0], now=NOW)
    assert (redeemed.kind, redeemed.reset_chances, redeemed.reset_chances_after, redeemed.ends_at) == (
        "reset_chances", 3, 3, None)  # fmt: skip
    assert await shop.redis.hget(shop.keys.user(2), "reset_chances") == "3"
    assert await list_subscriptions(shop, 2) == []


async def test_one_code_redeemed_at_once_by_two_users_succeeds_exactly_once(shop: Store, settings: Settings) -> None:
    for _ in range(5):
        code = (await generate_codes(shop, plan="pro", days=30, count=1, now=NOW)).codes[0]
        results = await asyncio.gather(
            *(redeem_code(shop, settings, user, code, now=NOW) for user in (1, 2, 1, 2)), return_exceptions=True
        )
        assert sum(not isinstance(result, BaseException) for result in results) == 1
        assert all(isinstance(r, InvalidRedemptionCode) for r in results if isinstance(r, BaseException)), results
    subs = [len(await list_subscriptions(shop, user)) for user in (1, 2)]
    assert sum(subs) == 5  # five codes, five grants in all


async def test_wrong_disabled_expired_and_used_codes_get_one_error_and_change_nothing(
    shop: Store, settings: Settings
) -> None:
    batch = await generate_codes(shop, plan="pro", days=7, count=4, expires_at=NOW + DAY, now=NOW)
    await disable_code(shop, batch.codes[0])
    assert await disable_batch(shop, batch.id) == 3
    fresh = await generate_codes(shop, plan="pro", days=7, count=1, expires_at=NOW + DAY, now=NOW)
    cases = [("ABCD-EFGH-JKMN-PQRS", NOW), (batch.codes[0], NOW), (batch.codes[1], NOW), (fresh.codes[0], NOW + DAY)]
    for code, when in cases:
        with pytest.raises(InvalidRedemptionCode):
            await redeem_code(shop, settings, 1, code, now=when)
    for malformed in ("", "short", "ABCD-EFGH-JKMN-PQR0", "x" * 200):
        with pytest.raises(InvalidInput):
            await redeem_code(shop, settings, 1, malformed, now=NOW)
    assert await list_subscriptions(shop, 1) == [] and await list_redemptions(shop, 1) == []
    assert (await redeem_code(shop, settings, 1, fresh.codes[0], now=NOW + DAY - 1)).plan == "pro"


async def test_wrong_codes_are_throttled_like_sign_in_attempts(shop: Store, settings: Settings) -> None:
    strict = settings.model_copy(update={"REDEEM_MAX_FAILS": 3})
    good = (await generate_codes(shop, reset_chances=1, count=1, now=NOW)).codes[0]
    await redeem_code(shop, strict, 1, good, now=NOW)  # a success is no failure
    for _ in range(3):
        with pytest.raises(InvalidRedemptionCode):
            await redeem_code(shop, strict, 1, "ABCD-EFGH-JKMN-PQRS", now=NOW)
    other = (await generate_codes(shop, reset_chances=1, count=1, now=NOW)).codes[0]
    with pytest.raises(TooManyAttempts) as refused:
        await redeem_code(shop, strict, 1, other, now=NOW)  # even a good code waits
    assert 0 < refused.value.data["retry_after"] <= settings.LOGIN_FAIL_WINDOW_SECONDS
    assert (await redeem_code(shop, strict, 2, other, now=NOW)).reset_chances == 1  # per account
    per_ip = settings.model_copy(update={"REDEEM_MAX_FAILS_PER_IP": 2})
    for user in (1, 2):
        with pytest.raises(InvalidRedemptionCode):
            await redeem_code(shop, per_ip, user, "ABCD-EFGH-JKMN-PQRT", now=NOW, ip="203.0.113.9")
    with pytest.raises(TooManyAttempts):
        await redeem_code(shop, per_ip, 2, "ABCD-EFGH-JKMN-PQRU", now=NOW, ip="203.0.113.9")


async def test_batches_are_validated_and_listed(shop: Store) -> None:
    for kwargs in ({"plan": "pro", "days": 0}, {"plan": "pro", "days": 30, "reset_chances": 2}, {},
                   {"reset_chances": 0}, {"plan": "pro", "days": 30, "expires_at": NOW - 1}):  # fmt: skip
        with pytest.raises(InvalidInput):
            await generate_codes(shop, count=1, now=NOW, **kwargs)
    for plan in ("free", "nope"):
        with pytest.raises(NotFound):
            await generate_codes(shop, plan=plan, days=30, count=1, now=NOW)
    with pytest.raises(InvalidInput):
        await generate_codes(shop, plan="pro", days=30, count=0, now=NOW)
    made = await generate_codes(shop, plan="pro", days=30, count=2, note="launch", now=NOW)
    listed = await list_batches(shop)
    assert [(b.id, b.plan, b.days, b.count, b.note) for b in listed] == [(made.id, "pro", 30, 2, "launch")]
    assert listed[0].codes == ()  # the codes themselves are not stored
