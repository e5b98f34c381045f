"""The account page's summary of the user's plan: its name and end, what is left of each model's quota (and when
a used-up one frees), today's tokens under a daily cap, and the reset chances."""

from __future__ import annotations

import re
from typing import Any

from core.accounts.users import User
from core.billing.quotas import quota_status, tokens_used_today
from core.billing.subscriptions import current_choice
from core.relay.catalogue import list_models
from web.context import services
from web.i18n import t

_WINDOW = re.compile(r"^(\d+)([smhdw])$")


def window_text(window: str) -> str:
    """ "per 3 hours" / "每 3 小时" for a canonical window such as "3h"."""
    match = _WINDOW.match(window or "")
    if match is None:
        return window
    n = int(match.group(1))
    return t(f"chat.window.{match.group(2)}{'.one' if n == 1 else ''}", n=n)


def wait_text(seconds: int) -> str:
    """A rough wait in the page's language: minutes under two hours, else hours."""
    minutes = max(1, -(-seconds // 60))
    return t("chat.dur.m", m=minutes) if minutes < 120 else t("chat.dur.h", h=-(-minutes // 60))


async def plan_summary(user: User) -> dict[str, Any]:
    """What the account page shows about the plan (read fresh: a window may have freed a moment ago)."""
    svc = services()
    store, now = svc.store, svc.clock()
    choice = await current_choice(store, user.id, now)
    plan, subscription = choice.plan, choice.subscription
    statuses = await quota_status(store, user.id, plan, now)
    models = [model for model in await list_models(store) if model.enabled and model.id in statuses]
    rows = []
    for model in models:
        status = statuses[model.id]
        rows.append({
            "name": model.name, "limit": status.limit, "remaining": status.remaining,
            "window": window_text(status.window), "frees_in": wait_text(status.resets_in) if status.resets_in else "",
        })  # fmt: skip
    daily = None
    if plan.daily_tokens:
        daily = {"limit": plan.daily_tokens, "used": await tokens_used_today(store, user.id, now)}
    return {
        "title": plan.title or plan.name,
        "ends_at": subscription.ends_at if subscription else None,
        "models": rows,
        "daily": daily,
        "reset_chances": user.reset_chances,
    }
