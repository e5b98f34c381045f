"""Plans as the dashboard changes them: create, update, delete, each checked first and written to the audit log.

The shape is the one `chatgate plans import` reads (core.billing.plans). A name is taken once (create refuses a
duplicate); `free` cannot be deleted; a plan that users hold time on cannot be deleted either, only hidden (its
subscribers keep it until their time ends). Every process sees a change within a second (runtime config).
"""

from __future__ import annotations

from typing import Any

from core.billing.plans import FREE_PLAN, Plan, add_plan, delete_plan, get_plan, plan_from_dict, save_plan
from core.billing.subscriptions import plan_subscribers
from core.errors import AlreadyExists, Forbidden, InUse, InvalidInput, NotFound
from core.site.audit import Actor, record_audit
from core.store.connection import Store


async def create_plan(store: Store, actor: Actor, data: object, now: float) -> Plan:
    """Create a plan from its JSON shape; AlreadyExists when the name is taken."""
    plan = plan_from_dict(data)
    if not await add_plan(store, plan):
        raise AlreadyExists(f"A plan named {plan.name!r} already exists.", field="name")
    await record_audit(store, actor, "plan.create", plan.name, None, plan.to_dict(), now)
    return plan


async def update_plan(store: Store, actor: Actor, name: str, data: object, now: float) -> Plan:
    """Replace plan `name` with `data` (the same shape; its name must stay `name`)."""
    if not isinstance(data, dict):
        raise InvalidInput("A plan must be a JSON object.", field="plan")
    if data.get("name", name) != name:
        raise InvalidInput("A plan cannot be renamed; create a new one and hide this one.", field="name")
    plan = plan_from_dict({**data, "name": name})
    before = await get_plan(store, name)
    if before is None:
        raise NotFound(f"There is no plan named {name!r}.")
    if name == FREE_PLAN and plan.prices:
        raise InvalidInput("The free plan has no prices.", field="prices")
    saved = await save_plan(store, plan)
    if before != saved:
        await record_audit(store, actor, "plan.update", name, before.to_dict(), saved.to_dict(), now)
    return saved


async def remove_plan(store: Store, actor: Actor, name: str, now: float) -> None:
    """Delete a plan nobody holds time on; `free` and plans in use are refused (hide those instead)."""
    if name == FREE_PLAN:
        raise Forbidden("The free plan cannot be deleted.")
    before = await get_plan(store, name)
    if before is None:
        raise NotFound(f"There is no plan named {name!r}.")
    holders = await plan_subscribers(store, name, now)
    if holders:
        raise InUse(f"{holders} user(s) are on {name!r}; hide it instead of deleting it.", subscribers=holders)
    await delete_plan(store, name)
    await record_audit(store, actor, "plan.delete", name, before.to_dict(), None, now)


def plan_summary(plan: Plan, subscribers: int) -> dict[str, Any]:
    """Return a plan in its import shape plus what the dashboard lists with it."""
    return {**plan.to_dict(), "hidden": plan.hidden, "position": plan.position, "subscribers": subscribers}
