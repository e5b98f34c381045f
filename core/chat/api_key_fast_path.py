"""The /v1 fast path: an API-key chat call with one store round trip before the upstream instead of two.

The ordinary path (authenticate, then `relay_chat`) reads the caller, then takes the quota slot once the checks
passed. Here the checks that need no store run first (model, messages, keyword moderation, context fitting), then
one script resolves the key, the user and the plan and takes the slot (core.store.lua.api_keys
AUTHORIZE_API_KEY_CHAT, which shares its key resolution, plan choice and consume with the ordinary path; the token
reservation is given per plan, as the plan is chosen by the script). The plan's per-request caps are checked once
the plan is known (a refused call gives back what it took). Anything unusual
returns None and the caller takes the ordinary path, which gives the ordinary errors in their ordinary order (401
before anything else; a blocked message is logged with its user): a key this process has not seen yet, a revoked
key, a missing or blocked user, an unknown model, bad messages, text the moderation blocks, remote moderation
providers (they are paid calls: only for authenticated callers), a conversation turn.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.accounts.api_keys import ApiKeyCaller, authorize_api_key_chat, digest_key, remembered_api_key
from core.accounts.users import User, user_from_fields
from core.billing.denials import count_denial
from core.billing.plans import Plan, cached_plans
from core.billing.quotas import QuotaTicket, give_back, new_ticket_id, refund_quota, ticket_from
from core.chat.charge import Charged
from core.chat.content import caller_texts, check_input_types
from core.chat.events import ChatStream
from core.chat.pipeline import answer_charged, consumption
from core.chat.prompt import Prompt, fit_prompt, output_tokens
from core.chat.request import ChatRequest, check_messages
from core.days import day_stamp
from core.errors import CoreError, ModelNotInPlan
from core.relay.catalogue import Model, cached_model
from core.store.connection import STORE_ERRORS
from core.store.retry import later

if TYPE_CHECKING:
    from core.services import Services


@dataclass(frozen=True)
class KeyChat:
    """An authenticated API-key call: its caller, and its answer or the error that refused it (no quota taken)."""

    user: User
    caller: ApiKeyCaller
    stream: ChatStream | None
    error: CoreError | None = None


async def relay_api_key_chat(services: Services, key: str, request: ChatRequest) -> KeyChat | None:
    """Run an API-key chat call in one store round trip before the upstream, or return None (ordinary path)."""
    store, moderation = services.store, services.moderation
    await moderation.refresh()  # the dashboard's policy (this process's copy: no store call while it is fresh)
    messages = request.messages
    if not remembered_api_key(store, key) or request.turn is not None or messages is None or moderation.remote:
        return None
    model = await cached_model(store, request.model)
    if model is None or not model.enabled or not model.chats:
        return None
    plans = await cached_plans(store)
    try:
        check_messages(messages)
        check_input_types(model, messages)
        said = "\n".join(caller_texts(messages, request.params))
        if said.strip() and await moderation.judge(said, "", moderation.providers) is not None:
            return None  # the ordinary path authenticates first, then logs and refuses it
        capped = any(plan.daily_tokens for plan in plans.values())  # the estimate needs the prompt counted
        prompt = await fit_prompt(
            services.relay.tokens,
            model,
            messages,
            request.params,
            count=capped,
            counts=request.counts,
            trim=request.trim,
        )
    except CoreError:
        return None
    ticket_id = new_ticket_id()
    use = consumption(services, reserves=_reserves(prompt, plans.values(), model, request), count=request.choices)
    now = services.clock()  # read right before the script: nothing awaits in between
    try:
        granted = await authorize_api_key_chat(store, key, model.id, plans, ticket_id, now, use)
    except STORE_ERRORS:  # it may have run before the store went away: give back what it took when it is back
        owner = store.api_key_owners.get(digest_key(key), "").split(":")[0]
        ticket = QuotaTicket(owner, model.id, ticket_id, day_stamp(now), count=request.choices)
        later(lambda _: refund_quota(store, ticket), "giving back an unanswered consume")
        raise
    user = user_from_fields(granted.caller.user_fields) if granted else None
    if granted is None or granted.status == "refused" or user is None or user.blocked:
        return None  # revoked key, no such user, blocked: the ordinary path answers 401 (nothing was taken)
    plan = granted.caller.choice.plan
    try:
        if granted.status == "not_in_plan":
            raise ModelNotInPlan(f"The {plan.title} plan does not include {model.id}.", model=model.id, plan=plan.name)
        ticket = QuotaTicket(user.id, model.id, ticket_id, day_stamp(now), count=request.choices)
        ticket = ticket_from(
            int(granted.status), granted.value, ticket, plan, now, use, reset_ms=granted.reset, used=granted.used
        )
        prompt = await _within_plan(services, ticket, model, plan, request, prompt)
    except CoreError as error:
        count_denial(services.metrics, error, model=model.id, channel="api")
        return KeyChat(user, granted.caller, None, error)
    charged = Charged(user.id, model, plan, ticket, prompt.messages, prompt.tokens)
    return KeyChat(user, granted.caller, await answer_charged(services, charged, request))


def _reserves(prompt: Prompt, plans: Iterable[Plan], model: Model, request: ChatRequest) -> dict[str, int]:
    """The tokens the call reserves under each plan that caps daily tokens (its maximum output depends on the
    plan's max_tokens; a request over that cap is refused once the plan is known)."""
    found: dict[str, int] = {}
    for plan in plans:
        if plan.daily_tokens:
            try:
                found[plan.name] = (prompt.tokens or 0) + output_tokens(model, request.params, plan) * request.choices
            except CoreError:
                found[plan.name] = prompt.estimate
    return found


async def _within_plan(
    services: Services, ticket: QuotaTicket, model: Model, plan: Plan, request: ChatRequest, prompt: Prompt
) -> Prompt:
    """Fit the prompt within the plan's per-request caps, known only now; on refusal give back what was taken."""
    if not (plan.max_tokens or plan.max_prompt_tokens):
        return prompt
    assert request.messages is not None
    try:
        return await fit_prompt(
            services.relay.tokens, model, request.messages, request.params, plan=plan,
            count=bool(plan.daily_tokens), counts=request.counts, trim=request.trim,
        )  # fmt: skip
    except CoreError:
        await give_back(services.store, ticket)
        raise
