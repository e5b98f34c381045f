"""The chat path: `relay_chat`, the one function behind /v1, the web chat and the bots.

In order: model lookup, plan, input moderation of what the caller wrote (for a conversation turn: the new words
only), atomic quota consume, context fitting, upstream selection with failover (core.relay), streaming with output
moderation (core.chat.answer), usage accounting (core.chat.charge). Nothing is consumed when the request is refused,
and the slot is refunded when the upstream fails before the first token. Channels call it through
core.chat.channel; /v1 calls it directly (or its one-round-trip variant, core.chat.api_key_fast_path).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from core.billing.plans import Plan
from core.billing.quotas import consume_quota
from core.billing.subscriptions import current_plan
from core.chat.answer import StreamedAnswer, complete_answer
from core.chat.charge import Charge, Charged
from core.chat.events import ChatStream
from core.chat.request import ChatRequest, caller_texts, check_messages, fit_messages
from core.chat.turns import PreparedTurn, prepare_turn
from core.errors import InvalidInput, ModelNotFound, ModelNotInPlan
from core.relay.catalogue import cached_model

if TYPE_CHECKING:
    from core.accounts.users import User
    from core.services import Services


async def relay_chat(services: Services, user: User, request: ChatRequest, *, plan: Plan | None = None) -> ChatStream:
    """Run one chat call; raise CoreError for anything refused before the answer starts.

    `plan`: the user's current plan when the caller already knows it (API-key authentication reads it in its own
    round trip); else it is read here.
    """
    store, now = services.store, services.clock()
    model = await cached_model(store, request.model)
    if model is None or not model.enabled:
        raise ModelNotFound(f"The model `{request.model}` does not exist.", model=request.model)
    if plan is None:
        plan = await current_plan(store, user.id, now)
    if model.id not in plan.limits:  # cheaper to say now than after moderation; consume checks it again
        raise ModelNotInPlan(f"The {plan.title} plan does not include {model.id}.", model=model.id, plan=plan.name)
    prepared = await _prepare(services, user.id, request)
    if prepared is not None and prepared.params:  # the chat's own settings; what the request names wins
        request = replace(request, params={**prepared.params, **request.params})
    messages = prepared.messages if prepared else request.messages or []
    # A turn (web, bots): its new words and its system prompt, the stored history was checked when it was new.
    texts = [prepared.new_text, prepared.turn.system or ""] if prepared else caller_texts(messages)
    await services.moderation.check_texts(texts, user.id)
    fitted, prompt_tokens = fit_messages(model, messages, request.params)
    ticket = await consume_quota(store, user.id, plan, model.id, now)
    charged = Charged(user.id, model, plan, ticket, fitted, prompt_tokens)
    return await answer_charged(services, charged, request, prepared)


async def answer_charged(
    services: Services, charged: Charged, request: ChatRequest, prepared: PreparedTurn | None = None
) -> ChatStream:
    """Send a charged call upstream and return its answer; the slot is refunded if no upstream answers."""
    charge = Charge(services, charged, prepared)
    body = {**request.params, "messages": charged.messages}
    if not request.stream:
        return await complete_answer(services, charge, body, charged.prompt_tokens)
    try:
        upstream = await services.relay.stream(
            charged.model, body, include_usage=request.include_usage, prompt_tokens=charged.prompt_tokens
        )
    except BaseException:
        await charge.refund()
        raise
    start = await charge.open(upstream)
    answer = StreamedAnswer(charge, upstream, services.moderation.output_guard(user_id=charged.user_id), start)
    answer.usage_chunk = request.include_usage and request.turn is None  # /v1 asked for stream_options.include_usage
    return answer.stream()


async def _prepare(services: Services, user_id: int, request: ChatRequest) -> PreparedTurn | None:
    if request.turn is None:
        if request.messages is None:
            raise InvalidInput("A chat request needs messages or a conversation turn.", field="messages")
        check_messages(request.messages)
        return None
    return await prepare_turn(services.store, services.settings, user_id, request.turn)
