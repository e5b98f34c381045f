"""The user's usage rows through `GET /api/usage`."""

from __future__ import annotations

import time
from typing import Any

import pytest
from quart.testing import QuartClient

from core.billing.usage import record_usage
from core.days import day_stamp
from core.store.connection import Store
from tests.webui.conftest import AuthActions, FakeClock, MakeApp

DAY = 86_400


async def _json(response: Any) -> dict[str, Any]:
    return await response.get_json()


async def test_signed_out_gets_401(client: QuartClient) -> None:
    response = await client.get("/api/usage")
    assert (response.status_code, (await _json(response))["error"]["code"]) == (401, "not_authenticated")


async def test_rows_for_the_signed_in_user_only(make_app: MakeApp, store: Store) -> None:
    clock = FakeClock(time.time())
    auth = AuthActions((await make_app(clock=clock)).test_client())
    await auth.register()
    uid, now = auth.user["id"], clock.now
    await record_usage(store, uid, "gpt-4o", 10, 20, now - 40 * DAY)  # outside the default 30 days
    await record_usage(store, uid, "gpt-4o", 3, 4, now - DAY)
    await record_usage(store, uid, "gpt-4o", 5, 6, now)
    await record_usage(store, uid + 1, "gpt-4o", 100, 100, now)
    rows = (await _json(await auth.client.get("/api/usage")))["days"]
    today, yesterday = (day_stamp(now - offset * DAY) for offset in (0, 1))
    dashed = [f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in (yesterday, today)]
    assert rows == [
        {"date": dashed[0], "model": "gpt-4o", "requests": 1, "prompt_tokens": 3, "completion_tokens": 4},
        {"date": dashed[1], "model": "gpt-4o", "requests": 1, "prompt_tokens": 5, "completion_tokens": 6},
    ]
    assert len((await _json(await auth.client.get("/api/usage?days=60")))["days"]) == 3
    assert len((await _json(await auth.client.get("/api/usage?days=1")))["days"]) == 1


@pytest.mark.parametrize("days", ["0", "401", "abc", "-3", "%C2%B2", ""])
async def test_bad_days_is_400(auth: AuthActions, days: str) -> None:
    await auth.register()
    response = await auth.client.get(f"/api/usage?days={days}")
    assert (response.status_code, (await _json(response))["error"]["code"]) == (400, "invalid_input")
