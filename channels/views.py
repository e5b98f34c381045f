"""What the shared commands say: the model choices with their quota, the usage summary, a redemption's result.

Plain text in the user's language (channels.messages); each bot escapes and lays it out for its medium.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from channels.messages import CATALOGUE, describe_wait, describe_window
from core.billing.plans import cached_plans
from core.billing.quotas import quota_status, tokens_used_today
from core.billing.redemption import redeem_code
from core.billing.subscriptions import active_subscription, current_plan
from core.billing.usage import user_usage
from core.errors import InvalidInput, InvalidRedemptionCode
from core.relay.catalogue import list_models

if TYPE_CHECKING:
    from core.accounts.users import User
    from core.services import Services


def day_of(seconds: float) -> str:
    """Return unix seconds as a UTC date, readable in both languages."""
    return time.strftime("%Y-%m-%d", time.gmtime(seconds))


def bound_account(user: User) -> str:
    """Name a web account without spelling it out (a chat can be seen over a shoulder): a***@example.com."""
    if user.email:
        local, _, domain = user.email.partition("@")
        return f"{local[:1]}***@{domain}"
    if user.phone:
        return f"{user.phone[:3]}****{user.phone[-4:]}"
    return f"#{user.id}"


async def model_choices(services: Services, user: User, lang: str) -> tuple[tuple[str, str], ...]:
    """Return (model id, label with the remaining quota) for every enabled model the user's plan includes."""
    now = services.clock()
    plan = await current_plan(services.store, user.id, now)
    statuses = await quota_status(services.store, user.id, plan, now)
    choices = []
    for model in await list_models(services.store):
        status = statuses.get(model.id)
        if model.enabled and model.chats and status is not None:
            label = CATALOGUE.text(
                lang, "bot.model_choice", name=model.name, remaining=status.remaining, limit=status.limit,
                window=describe_window(status.window, lang),
            )  # fmt: skip
            choices.append((model.id, label))
    return tuple(choices)


async def usage_text(services: Services, user: User, lang: str) -> str:
    """Return the plan, each model's remaining quota (and when a slot frees), today's use and the token cap."""
    store, now = services.store, services.clock()
    plan = await current_plan(store, user.id, now)
    subscription = await active_subscription(store, user.id, now)
    title = plan.title or plan.name
    lines = [
        CATALOGUE.text(lang, "bot.usage_until", plan=title, date=day_of(subscription.ends_at))
        if subscription is not None and subscription.plan == plan.name
        else CATALOGUE.text(lang, "bot.usage_plan", plan=title)
    ]
    statuses = await quota_status(store, user.id, plan, now)
    names = {model.id: model.name for model in await list_models(store) if model.enabled}
    for model_id, status in statuses.items():
        if model_id not in names:
            continue
        line = CATALOGUE.text(
            lang, "bot.usage_model", name=names[model_id], remaining=status.remaining, limit=status.limit,
            window=describe_window(status.window, lang),
        )  # fmt: skip
        if status.resets_in:
            line += CATALOGUE.text(lang, "bot.usage_frees", wait=describe_wait(status.resets_in, lang))
        lines.append(line)
    rows = await user_usage(store, user.id, 1, now)
    tokens = sum(row.prompt_tokens + row.completion_tokens for row in rows)
    lines.append(CATALOGUE.text(lang, "bot.usage_today", requests=sum(row.requests for row in rows), tokens=tokens))
    if plan.daily_tokens is not None:
        used = await tokens_used_today(store, user.id, now)
        lines.append(CATALOGUE.text(lang, "bot.usage_daily_cap", used=used, cap=plan.daily_tokens))
    lines.append(CATALOGUE.text(lang, "bot.usage_resets", count=user.reset_chances))
    return "\n".join(lines)


async def redeemed_text(services: Services, user: User, code: str, lang: str) -> str:
    """Redeem a code for the user and say what it added (CoreError when it cannot be redeemed)."""
    store, now = services.store, services.clock()
    try:
        redemption = await redeem_code(store, services.settings, user.id, code, now=now)
    except InvalidInput as error:  # not even shaped like a code: say it is not a valid code
        raise InvalidRedemptionCode(field="code") from error
    if redemption.kind == "reset_chances":
        total = redemption.reset_chances_after if redemption.reset_chances_after is not None else "?"
        return CATALOGUE.text(lang, "bot.redeem_resets", count=redemption.reset_chances, total=total)
    plan = (await cached_plans(store)).get(redemption.plan or "")
    title = plan.title if plan is not None and plan.title else redemption.plan
    subscription = redemption.subscription
    until = day_of(redemption.ends_at or now)
    if subscription is not None and subscription.starts_at > now + 60:  # queued after the current plan
        start = day_of(subscription.starts_at)
        return CATALOGUE.text(lang, "bot.redeem_queued", plan=title, days=redemption.days, start=start, date=until)
    return CATALOGUE.text(lang, "bot.redeem_plan", plan=title, days=redemption.days, date=until)
