"""Invitation rewards: only for an invitee proven by a code or a payment, once per invitee, at most
INVITE_REWARDS_PER_DAY per inviter; bonus days for both; the commission ledger."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from core.accounts.registration import register_user
from core.accounts.signin import authenticate_code, bind_target
from core.accounts.users import User, get_user
from core.accounts.verification import send_code
from core.billing.invitations import add_commission, list_commissions, list_rewards, reward_invitation
from core.billing.orders import Order
from core.billing.plans import Limit, Plan, ensure_free_plan, save_plan
from core.billing.subscriptions import list_subscriptions
from core.notify import Notifier
from core.settings import Settings
from core.store.connection import Store
from tests.fakes.smtp import SmtpFake
from tests.webui.conftest import FAST_HASHING

PASSWORD = "password123"
DAY = 86_400


@pytest.fixture
async def mail(settings: Settings) -> AsyncIterator[tuple[SmtpFake, Settings, Notifier]]:
    async with SmtpFake() as smtp, httpx.AsyncClient() as http:
        configured = settings.model_copy(update={**FAST_HASHING, **smtp.settings_update(), "SMTP_TLS": "none",
                                                 "CODE_DAILY_CAP_PER_IP": 1000})  # fmt: skip
        yield smtp, configured, Notifier(configured, http)


async def register(store: Store, settings: Settings, email: str, invite: str | None = None,
                   notifier: Notifier | None = None, code: str | None = None) -> User:  # fmt: skip
    return await register_user(store, settings, notifier, email=email, password=PASSWORD, invite_code=invite,
                               code=code, now=time.time())  # fmt: skip


async def chances(store: Store, user_id: int) -> int:
    user = await get_user(store, user_id)
    assert user is not None
    return user.reset_chances


async def test_a_code_at_sign_up_rewards_at_once(store: Store, mail: tuple[SmtpFake, Settings, Notifier]) -> None:
    smtp, settings, notifier = mail
    inviter = await register(store, settings, "alice@example.com")
    await send_code(store, settings, notifier, "bob@example.com", "register", ip="203.0.113.1", now=time.time())
    bob = await register(store, settings, "bob@example.com", inviter.invite_code, notifier,
                         smtp.code_for("bob@example.com"))  # fmt: skip
    assert await chances(store, inviter.id) == settings.INVITE_RESET_CHANCES == 1
    (reward,) = await list_rewards(store, inviter.id)
    assert (reward.invitee_id, reward.status, reward.trigger) == (bob.id, "granted", "register_code")
    assert (await reward_invitation(store, settings, bob.id, trigger="paid_order", now=time.time())).trigger == (  # type: ignore[union-attr]
        "register_code")  # once per invitee: a later trigger changes nothing  # fmt: skip
    assert await chances(store, inviter.id) == 1


async def test_an_unproven_invitee_earns_nothing_until_a_code_proves_the_address(
    store: Store, mail: tuple[SmtpFake, Settings, Notifier]
) -> None:
    smtp, settings, notifier = mail
    inviter = await register(store, settings, "alice@example.com")
    # Registered by phone, where no SMS provider can deliver a code: nothing proves the number.
    bob = await register_user(store, settings, notifier, phone="+8613800138000", password=PASSWORD,
                              invite_code=inviter.invite_code, now=time.time())  # fmt: skip
    assert await chances(store, inviter.id) == 0 and await list_rewards(store, inviter.id) == []
    await send_code(store, settings, notifier, "bob@example.com", "bind", ip="203.0.113.1", now=time.time())
    await bind_target(store, settings, bob.id, "bob@example.com", smtp.code_for("bob@example.com"))
    assert await chances(store, inviter.id) == 1
    carol = await register_user(store, settings, notifier, phone="+8613800138001", password=PASSWORD,
                                invite_code=inviter.invite_code, now=time.time())  # fmt: skip
    assert await chances(store, inviter.id) == 1
    await store.redis.hset(store.keys.user(carol.id), "email", "carol@example.com")
    await store.redis.set(store.keys.email_index("carol@example.com"), carol.id)
    await send_code(store, settings, notifier, "carol@example.com", "login", ip="203.0.113.1", now=time.time())
    await authenticate_code(store, settings, "carol@example.com", smtp.code_for("carol@example.com"), ip="1.2.3.4",
                            now=time.time())  # fmt: skip
    assert await chances(store, inviter.id) == 2
    assert sorted(r.trigger for r in await list_rewards(store, inviter.id)) == ["bind_code", "login_code"]


async def test_rewards_per_inviter_per_day_are_capped(store: Store, settings: Settings) -> None:
    capped = settings.model_copy(update={**FAST_HASHING, "INVITE_REWARDS_PER_DAY": 2, "INVITE_RESET_CHANCES": 3})
    inviter = await register(store, capped, "alice@example.com")
    invitees = [await register(store, capped, f"u{n}@example.com", inviter.invite_code) for n in range(4)]
    today = time.time()
    decided = [await reward_invitation(store, capped, u.id, trigger="paid_order", now=today) for u in invitees[:3]]
    assert [r.status for r in decided if r] == ["granted", "granted", "capped"]
    assert await chances(store, inviter.id) == 6
    tomorrow = await reward_invitation(store, capped, invitees[3].id, trigger="paid_order", now=today + DAY)
    assert tomorrow is not None and tomorrow.status == "granted" and await chances(store, inviter.id) == 9
    again = await reward_invitation(store, capped, invitees[2].id, trigger="paid_order", now=today + DAY)
    assert again is not None and again.status == "capped"  # a capped reward stays decided


async def test_bonus_days_for_both_sides(store: Store, settings: Settings) -> None:
    await ensure_free_plan(store, ["gpt-4o-mini"])
    await save_plan(store, Plan("basic", "Basic", {"monthly": 1500}, {"gpt-4o-mini": Limit(20, "3h")}))
    await save_plan(store, Plan("pro", "Pro", {"monthly": 2900}, {"gpt-4o": Limit(50, "3h")}))
    bonus = settings.model_copy(update={**FAST_HASHING, "INVITE_BONUS_DAYS": 7})  # plan unset: the cheapest
    inviter = await register(store, bonus, "alice@example.com")
    bob = await register(store, bonus, "bob@example.com", inviter.invite_code)
    now = time.time()
    await reward_invitation(store, bonus, bob.id, trigger="paid_order", now=now)
    for user_id in (inviter.id, bob.id):
        (sub,) = await list_subscriptions(store, user_id)
        assert (sub.plan, sub.ends_at - sub.starts_at, sub.source) == ("basic", 7 * DAY, "invite")
    await reward_invitation(store, bonus, bob.id, trigger="paid_order", now=now)
    assert len(await list_subscriptions(store, bob.id)) == 1  # once


def paid_order(order_id: str, user_id: int, amount: int, paid_at: float) -> Order:
    return Order(id=order_id, user_id=user_id, plan="pro", plan_title="Pro", cycle="monthly", seconds=30 * DAY,
                 amount=amount, status="paid", created_at=paid_at, updated_at=paid_at, expires_at=paid_at,
                 paid_at=paid_at)  # fmt: skip


async def test_commission_ledger(store: Store, settings: Settings) -> None:
    paying = settings.model_copy(update={**FAST_HASHING, "INVITE_COMMISSION_PERCENT": 10,
                                         "INVITE_COMMISSION_DAYS": 30})  # fmt: skip
    inviter = await register(store, paying, "alice@example.com")
    bob = await register(store, paying, "bob@example.com", inviter.invite_code)
    signed_up = bob.created_at
    first = await add_commission(store, paying, paid_order("O1", bob.id, 2990, signed_up + DAY))
    assert first is not None and first.commission == 299
    assert await add_commission(store, paying, paid_order("O1", bob.id, 2990, signed_up + DAY)) is not None
    assert await add_commission(store, paying, paid_order("O2", bob.id, 2900, signed_up + 31 * DAY)) is None
    assert [(c.order_id, c.commission) for c in await list_commissions(store, inviter.id)] == [("O1", 299)]
    assert await store.redis.hget(store.keys.user(inviter.id), "commission_fen") == "299"  # counted once
    assert await add_commission(store, paying, paid_order("O3", inviter.id, 2900, signed_up)) is None  # no inviter
