"""What the account page shows about paid time and invitations when it is rendered (the lists load from the API)."""

from __future__ import annotations

from typing import Any

from core.billing.invitations import bonus_plan, list_rewards
from core.billing.plans import cached_plans
from core.billing.purchases import current_term
from core.days import iso_utc
from core.site.config import runtime_settings
from web.context import services


async def billing_context(user_id: int) -> dict[str, Any]:
    """The current plan and its end, and the invitation and commission terms of this site."""
    svc = services()
    settings = await runtime_settings(svc.store, svc.settings)  # the dashboard's invitation terms
    plans = await cached_plans(svc.store)
    term = await current_term(svc.store, user_id, svc.clock())
    bonus = bonus_plan(plans, settings)
    rewards = await list_rewards(svc.store, user_id)
    return {
        "invites_rewarded": sum(reward.status == "granted" for reward in rewards),
        "plan_title": plans[term.plan].title if term.plan in plans else term.plan,
        "plan_until": (iso_utc(term.ends_at) or "")[:10],
        "invite_cap": settings.INVITE_REWARDS_PER_DAY,
        "invite_bonus_days": settings.INVITE_BONUS_DAYS if bonus else 0,
        "invite_bonus_plan": bonus.title if bonus else "",
        "commission_percent": settings.INVITE_COMMISSION_PERCENT,
        "commission_days": settings.INVITE_COMMISSION_DAYS,
    }
