"""GET /api/me names the caller's current plan (`"plan"`) and when its paid time ends (`"plan_expires_at"`, ISO 8601
UTC, null on free)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from core.billing.plans import Limit, Plan, save_plan
from core.billing.subscriptions import add_subscription
from core.store.connection import Store
from tests.webui.conftest import AuthActions, Client


async def test_me_shows_free_then_the_paid_plan(client: Client, auth: AuthActions, store: Store) -> None:
    registered = await auth.register("planner@example.com")
    me = await auth.me()
    assert me is not None and (me["plan"], me["plan_expires_at"]) == ("free", None)
    await save_plan(store, Plan(name="pro", title="Pro", prices={"monthly": 2900}, limits={"m": Limit(5, "1h")}))
    added = await add_subscription(store, registered["user"]["id"], "pro", 30 * 86400, now=time.time())
    me = await auth.me()
    assert me is not None and (me["plan"], me["plan_title"]) == ("pro", "Pro")
    ends = datetime.fromtimestamp(added.subscription.ends_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert me["plan_expires_at"] == ends
