"""Issue 9, item 2 (unlimited quota by self-invitation): 30 sign-ups from one address with one invitation code
yield no more than the daily cap of rewards, registration is rate-limited per IP, and an invitee nothing proved
earns nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from quart import Quart

from tests.fakes.smtp import SmtpFake
from tests.webui.conftest import AuthActions, MakeApp

SIGN_UPS = 30


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpFake]:
    async with SmtpFake() as fake:
        yield fake


async def sign_ups(app: Quart, smtp: SmtpFake | None, invite_code: str) -> list[int]:
    """Register SIGN_UPS accounts with one invitation code from one client address; return the statuses."""
    client = app.test_client()
    statuses = []
    for n in range(SIGN_UPS):
        email = f"sock{n}@example.com"
        body: dict[str, Any] = {"email": email, "password": "pw12345678", "invite_code": invite_code}
        if smtp is not None:
            sent = await client.post("/api/auth/code", json={"target": email, "purpose": "register"})
            assert sent.status_code == 200, await sent.get_json()
            body["code"] = smtp.code_for(email)
        statuses.append((await client.post("/api/auth/register", json=body)).status_code)
    return statuses


async def inviter(app: Quart, smtp: SmtpFake | None = None) -> AuthActions:
    auth = AuthActions(app.test_client())
    if smtp is None:
        await auth.register("owner@example.com")
        return auth
    await auth.client.post("/api/auth/code", json={"target": "owner@example.com", "purpose": "register"})
    await auth.register("owner@example.com", code=smtp.code_for("owner@example.com"))
    return auth


async def invites(auth: AuthActions) -> dict[str, Any]:
    data: dict[str, Any] = await (await auth.client.get("/api/account/invites")).get_json()
    return data


def with_mail(smtp: SmtpFake, **more: Any) -> dict[str, Any]:
    return {**smtp.settings_update(), "SMTP_TLS": "none", "CODE_DAILY_CAP_PER_IP": 1000, **more}


async def test_30_verified_sign_ups_from_one_address_yield_at_most_the_cap(make_app: MakeApp, smtp: SmtpFake) -> None:
    app = await make_app(**with_mail(smtp))  # defaults: 10 sign-ups per IP per hour, 5 rewards per inviter per day
    owner = await inviter(app, smtp)
    code = (await invites(owner))["invite_code"]
    statuses = await sign_ups(app, smtp, code)
    assert statuses.count(201) == 9 and statuses.count(429) == SIGN_UPS - 9  # the owner's sign-up was the 10th
    data = await invites(owner)
    assert (data["invitee_count"], data["rewarded"], data["reset_chances"]) == (9, 5, 5)


async def test_even_without_the_ip_limit_rewards_stop_at_the_daily_cap(make_app: MakeApp, smtp: SmtpFake) -> None:
    app = await make_app(**with_mail(smtp, REGISTER_MAX_PER_IP=1000, REGISTER_MAX_PER_SUBNET=1000,
                                     INVITE_REWARDS_PER_DAY=3, INVITE_RESET_CHANCES=2))  # fmt: skip
    owner = await inviter(app, smtp)
    statuses = await sign_ups(app, smtp, (await invites(owner))["invite_code"])
    assert statuses == [201] * SIGN_UPS
    data = await invites(owner)
    assert (data["invitee_count"], data["rewarded"], data["reset_chances"]) == (SIGN_UPS, 3, 6)


async def test_unverified_sign_ups_earn_nothing(make_app: MakeApp) -> None:
    app = await make_app(REGISTER_MAX_PER_IP=1000, REGISTER_MAX_PER_SUBNET=1000)  # no provider: no code possible
    owner = await inviter(app)
    statuses = await sign_ups(app, None, (await invites(owner))["invite_code"])
    assert statuses == [201] * SIGN_UPS
    data = await invites(owner)
    assert (data["invitee_count"], data["rewarded"], data["reset_chances"]) == (SIGN_UPS, 0, 0)
    refused = await owner.client.post("/api/quota/reset", headers=owner.headers)
    assert (refused.status_code, (await refused.get_json())["error"]["code"]) == (400, "no_reset_chances")
