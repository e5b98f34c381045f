"""The pricing page (`GET /pricing`) and the page payers return to from XunhuPay (`GET /pay/return?order=`).

The pricing page lists the plans from the store: title, description, each cycle's price in yuan, every model's
limit in words ("50 messages every 3 hours"), the signed-in user's plan and end date, and for each cycle a buy
button with a preview of what it gives ("Pro until 2027-01-31", from the same rule the credit uses). Signed out,
the buttons lead to sign-in and back. Paying is done by static/js/pricing.js over the Orders API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from quart import Blueprint, Response, redirect, request

from core.accounts.users import User
from core.billing.plans import CYCLES, FREE_PLAN, Plan, list_plans
from core.billing.purchases import Term, current_term, cycle_seconds, preview_purchase, price_of
from core.billing.rate_windows import parse_window
from core.days import iso_utc
from core.relay.catalogue import list_models
from web.context import services
from web.i18n import t
from webui.auth import current_user
from webui.pages import render_page

bp = Blueprint("pricing", __name__)

WINDOW_UNITS = (("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))


def window_words(window: str) -> str:
    """Say a rate window in words: "3h" -> "every 3 hours" / "每 3 小时", "1d" -> "every day" / "每天"."""
    seconds = parse_window(window)
    for unit, size in WINDOW_UNITS:
        if seconds % size == 0:
            count = seconds // size
            return t(f"window.one.{unit}") if count == 1 else t(f"window.many.{unit}", n=count)
    return window


def limit_words(limit: int, window: str) -> str:
    """Say a limit in words: "50 messages every 3 hours"."""
    words = window_words(window)
    return t("pricing.limit_one", window=words) if limit == 1 else t("pricing.limit", window=words, count=limit)


def yuan(fen: int) -> str:
    """Show fen as yuan: 2900 -> "29", 2990 -> "29.90"."""
    return f"{fen // 100}" if fen % 100 == 0 else f"{fen // 100}.{fen % 100:02d}"


def utc_date(seconds: float) -> str:
    """The UTC date of unix seconds, as the account page shows dates: 2027-01-31."""
    return (iso_utc(seconds) or "")[:10]


@dataclass
class CycleOffer:
    cycle: str
    amount: int
    days: int
    preview: str = ""
    action: str = "pricing.buy"


@dataclass
class PlanCard:
    plan: Plan
    limits: list[tuple[str, str]]
    current: bool
    offers: list[CycleOffer] = field(default_factory=list)


def _preview_text(plan: Plan, mode: str, starts_at: int, ends_at: int, seconds: int) -> str:
    params: dict[str, Any] = {"plan": plan.title, "date": utc_date(ends_at), "start": utc_date(starts_at)}
    if mode == "upgrade":
        params["days"] = round((ends_at - starts_at - seconds) / 86_400, 1)
    return t(f"pricing.preview.{mode}", **params)


async def _offers(plan: Plan, user: User | None, preview: bool) -> list[CycleOffer]:
    svc = services()
    offers = []
    for cycle in CYCLES:
        amount = plan.prices.get(cycle, 0)
        if plan.name == FREE_PLAN or amount <= 0:
            continue
        seconds = cycle_seconds(svc.settings, cycle)
        offer = CycleOffer(cycle=cycle, amount=amount, days=seconds // 86_400)
        if user is not None and preview:
            price = await price_of(svc.store, svc.settings, plan.name, cycle)
            grant = await preview_purchase(svc.store, svc.settings, user.id, price, svc.clock())
            sub = grant.subscription
            offer.preview = _preview_text(plan, grant.mode, sub.starts_at, sub.ends_at, seconds)
            offer.action = {"extend": "pricing.renew", "upgrade": "pricing.upgrade"}.get(grant.mode, "pricing.buy")
        offers.append(offer)
    return offers


async def plan_cards(user: User | None, term: Term | None) -> list[PlanCard]:
    """The plans as the page shows them: free first, then in the dashboard's order and by price; a hidden plan
    only to its holder (and not for sale)."""
    svc = services()
    names = {model.id: model.name for model in await list_models(svc.store) if model.enabled}
    cards = []
    for plan in await list_plans(svc.store):
        if plan.hidden and plan.name != (term.plan if term else None):
            continue
        limits = [(names[model], limit_words(lim.limit, lim.window)) for model, lim in plan.limits.items()
                  if model in names]  # fmt: skip
        if plan.daily_tokens:
            limits.append(("", t("pricing.daily_tokens", count=f"{plan.daily_tokens:,}")))
        current = plan.name == (term.plan if term else None)
        offers = [] if plan.hidden else await _offers(plan, user, preview=svc.settings.payments_enabled)
        cards.append(PlanCard(plan=plan, limits=limits, current=current, offers=offers))
    return cards


@bp.get("/pricing")
async def pricing() -> Response:
    svc = services()
    user = await current_user()
    term = await current_term(svc.store, user.id, svc.clock()) if user else None
    cards = await plan_cards(user, term)
    current_title = next((card.plan.title for card in cards if card.current), term.plan if term else "")
    return await render_page(
        "pricing.html", cards=cards, term=term, current_title=current_title,
        payments_enabled=svc.settings.payments_enabled, yuan=yuan, utc_date=utc_date,
        sign_in_url=f"/login?{urlencode({'next': '/pricing'})}",
    )  # fmt: skip


@bp.get("/pay/return")
async def pay_return() -> Response:
    """Where XunhuPay sends the payer back: the page polls the order (owner only) and says what they have now."""
    order_id = request.args.get("order", "")[:64]
    if await current_user() is None:
        back = f"/pay/return?{urlencode({'order': order_id})}"
        return redirect(f"/login?{urlencode({'next': back})}")  # type: ignore[return-value]
    return await render_page("pay_return.html", order_id=order_id)
