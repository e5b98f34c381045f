"""The /v1 fast path: an API-key chat call with one store round trip before the upstream instead of two.

The ordinary path (authenticate, then `relay_chat`) reads the caller, then takes the quota slot once the checks
passed. Here the checks that need no store run first (model, messages, keyword moderation, context fitting), then
one script resolves the key, the user and the plan and takes the slot (core.store.lua.api_keys
AUTHORIZE_API_KEY_CHAT, which shares its key resolution and plan choice with the ordinary path). Anything unusual
returns None and the caller takes the ordinary path, which gives the ordinary errors in their ordinary order (401
before anything else; a blocked message is logged with its user): a key this process has not seen yet, a revoked
key, a missing or blocked user, an unknown model, bad messages, text the moderation blocks, remote moderation
providers (they are paid calls: only for authenticated callers), a conversation turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.accounts.api_keys import ApiKeyCaller, authorize_api_key_chat, remembered_api_key
from core.accounts.users import User, user_from_fields
from core.billing.plans import cached_plans
from core.billing.quotas import QuotaTicket, new_ticket_id, ticket_from
from core.chat.charge import Charged
from core.chat.events import ChatStream
from core.chat.pipeline import answer_charged
from core.chat.request import ChatRequest, caller_texts, check_messages, fit_messages
from core.errors import CoreError, ModelNotInPlan
from core.relay.catalogue import cached_model

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
    store, moderation, now = services.store, services.moderation, services.clock()
    await moderation.refresh()  # the dashboard's policy (this process's copy: no store call while it is fresh)
    messages = request.messages
    if not remembered_api_key(store, key) or request.turn is not None or messages is None or moderation.remote:
        return None
    model = await cached_model(store, request.model)
    if model is None or not model.enabled:
        return None
    try:
        check_messages(messages)
        said = "\n".join(caller_texts(messages))
        if said.strip() and await moderation.judge(said, "", moderation.providers) is not None:
            return None  # the ordinary path authenticates first, then logs and refuses it
        fitted, prompt_tokens = fit_messages(model, messages, request.params)
    except CoreError:
        return None
    ticket_id = new_ticket_id()
    granted = await authorize_api_key_chat(store, key, model.id, await cached_plans(store), ticket_id, now)
    user = user_from_fields(granted.caller.user_fields) if granted else None
    if granted is None or granted.status == "refused" or user is None or user.blocked:
        return None  # revoked key, no such user, blocked: the ordinary path answers 401 (nothing was taken)
    plan = granted.caller.choice.plan
    try:
        if granted.status == "not_in_plan":
            raise ModelNotInPlan(f"The {plan.title} plan does not include {model.id}.", model=model.id, plan=plan.name)
        ticket = ticket_from(int(granted.status), granted.value, QuotaTicket(user.id, model.id, ticket_id), plan, now)
    except CoreError as error:
        return KeyChat(user, granted.caller, None, error)
    charged = Charged(user.id, model, plan, ticket, fitted, prompt_tokens)
    return KeyChat(user, granted.caller, await answer_charged(services, charged, request))
