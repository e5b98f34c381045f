"""Plans changed from the dashboard: duplicate names, renames, free and in-use plans refused; hide and order kept
in the import/export shape; every change audited."""

from __future__ import annotations

import time

import pytest

from core.billing import plan_admin
from core.billing.plans import export_plans, get_plan, list_plans, plan_from_dict
from core.billing.subscriptions import add_subscription
from core.errors import AlreadyExists, Forbidden, InUse, InvalidInput, NotFound
from core.site.audit import Actor, list_audit
from core.store.connection import Store

ADMIN = Actor(1, "root@example.com")


def pro(**changes: object) -> dict[str, object]:
    return {"name": "pro", "title": "Pro", "prices": {"monthly": 2990}, "limits": {"m": {"limit": 50, "window": "3h"}},
            **changes}  # fmt: skip


async def test_create_update_delete(store: Store) -> None:
    now = time.time()
    created = await plan_admin.create_plan(store, ADMIN, pro(), now)
    assert created == plan_from_dict(pro())
    with pytest.raises(AlreadyExists):
        await plan_admin.create_plan(store, ADMIN, pro(title="Copy"), now)
    updated = await plan_admin.update_plan(store, ADMIN, "pro", pro(title="Pro+", hidden=True, position=2), now)
    assert (updated.title, updated.hidden, updated.position) == ("Pro+", True, 2)
    assert (await export_plans(store))[0] == {**pro(title="Pro+"), "hidden": True, "position": 2}
    await plan_admin.remove_plan(store, ADMIN, "pro", now)
    assert await get_plan(store, "pro") is None
    audit = (await list_audit(store)).entries
    assert [e.action for e in audit] == ["plan.delete", "plan.update", "plan.create"]
    assert audit[1].before["title"] == "Pro" and audit[1].after["title"] == "Pro+"


@pytest.mark.parametrize(
    "data",
    [pro(prices={"monthly": -1}), pro(limits={"m": {"limit": 5, "window": "3x"}}), pro(limits={"m": {"limit": 0,
     "window": "3h"}}), pro(name="bad name"), pro(title=""), pro(prices={"monthly": 29.9}), pro(extra=1)],
)  # fmt: skip
async def test_bad_plans_change_nothing(store: Store, data: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        await plan_admin.create_plan(store, ADMIN, data, time.time())
    assert await list_plans(store) == [] and (await list_audit(store)).entries == []


async def test_free_and_plans_in_use_are_not_deleted(store: Store) -> None:
    now = time.time()
    await plan_admin.create_plan(store, ADMIN, {"name": "free", "title": "Free", "prices": {}, "limits": {}}, now)
    with pytest.raises(Forbidden):
        await plan_admin.remove_plan(store, ADMIN, "free", now)
    await plan_admin.create_plan(store, ADMIN, pro(), now)
    await add_subscription(store, 7, "pro", 86_400, now)
    with pytest.raises(InUse) as refused:
        await plan_admin.remove_plan(store, ADMIN, "pro", now)
    assert refused.value.data["subscribers"] == 1
    hidden = await plan_admin.update_plan(store, ADMIN, "pro", pro(hidden=True), now)
    assert hidden.hidden and await get_plan(store, "pro") is not None
    await plan_admin.remove_plan(store, ADMIN, "pro", now + 2 * 86_400)  # once their time has run out
    with pytest.raises(NotFound):
        await plan_admin.remove_plan(store, ADMIN, "pro", now)
    with pytest.raises(InvalidInput):
        await plan_admin.update_plan(store, ADMIN, "free", {"name": "other", "title": "x", "prices": {}, "limits": {}},
                                     now)  # fmt: skip
