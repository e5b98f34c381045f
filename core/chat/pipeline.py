"""The chat path: `relay_chat`, the one function behind /v1, the web chat and the bots.

In order: model lookup, plan, the input types the model accepts, input moderation of what the caller wrote (for a
conversation turn: the new words only), context fitting within the model's window and the plan's caps (tokens
counted at most once, off the event loop when big: core.chat.prompt), the atomic consume (window slot, daily-token
reservation, stream slot), upstream selection with failover (core.relay), streaming with output moderation
(core.chat.answer), settlement (core.chat.charge). Nothing is consumed when the request is refused, and everything
is given back when the upstream fails before the first token. Channels call it through
core.chat.channel; /v1 calls it directly (or its one-round-trip variant, core.chat.api_key_fast_path).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from core.billing.denials import counting_denials
from core.billing.plans import Plan
from core.billing.quotas import Consumption, consume_quota
from core.billing.subscriptions import current_plan
from core.chat.answer import StreamedAnswer, complete_answer
from core.chat.charge import Charge, Charged
from core.chat.content import caller_texts, check_input_types
from core.chat.events import ChatStream
from core.chat.prompt import Prompt, fit_prompt, upstream_params
from core.chat.request import ChatRequest, check_messages
from core.chat.turns import PreparedTurn, prepare_turn
from core.errors import InvalidInput, ModelNotFound, ModelNotInPlan
from core.relay.catalogue import Model, cached_model

if TYPE_CHECKING:
    from core.accounts.users import User
    from core.services import Services


async def relay_chat(services: Services, user: User, request: ChatRequest, *, plan: Plan | None = None) -> ChatStream:
    """Run one chat call; raise CoreError for anything refused before the answer starts.

    `plan`: the user's current plan when the caller already knows it (API-key authentication reads it in its own
    round trip); else it is read here.
    """
    model = await cached_model(services.store, request.model)
    if model is None or not model.enabled:
        raise ModelNotFound(f"The model `{request.model}` does not exist.", model=request.model)
    if not model.chats:
        raise ModelNotFound(
            f"The model `{model.id}` is not a chat model (it serves {', '.join(model.serves)}).", model=model.id
        )
    channel = request.turn.channel if request.turn is not None else "api"
    with counting_denials(services.metrics, model=model.id, channel=channel):
        return await _relay_in_plan(services, user, request, model, plan)


async def _relay_in_plan(
    services: Services, user: User, request: ChatRequest, model: Model, plan: Plan | None
) -> ChatStream:
    """Check the call against the plan, moderate and fit it, take its quota and start its answer."""
    store = services.store
    if plan is None:
        plan = await current_plan(store, user.id, services.clock())
    if model.id not in plan.limits:  # cheaper to say now than after moderation; consume checks it again
        raise ModelNotInPlan(f"The {plan.title} plan does not include {model.id}.", model=model.id, plan=plan.name)
    prepared = await _prepare(services, user.id, request, model)
    if prepared is not None and prepared.params:  # the chat's own settings; what the request names wins
        request = replace(request, params={**prepared.params, **request.params})
    prompt = await _checked_prompt(services, user.id, model, plan, request, prepared)
    use = consumption(services, prompt.estimate if plan.daily_tokens else 0, count=request.choices)
    ticket = await consume_quota(store, user.id, plan, model.id, services.clock(), use)  # the time of the consume
    charged = Charged(user.id, model, plan, ticket, prompt.messages, prompt.tokens)
    return await answer_charged(services, charged, request, prepared)


async def _checked_prompt(
    services: Services, user_id: int, model: Model, plan: Plan, request: ChatRequest, prepared: PreparedTurn | None
) -> Prompt:
    """Check the call's input types and moderate its texts, then fit its prompt (counted when a daily cap needs it)."""
    messages = prepared.messages if prepared else request.messages or []
    check_input_types(model, messages)
    # A turn (web, bots): its new words and its system prompt, the stored history was checked when it was new.
    texts = [prepared.new_text, prepared.turn.system or ""] if prepared else caller_texts(messages, request.params)
    await services.moderation.check_texts(texts, user_id, prepared.turn.channel if prepared else "api")
    counts, count = None if prepared else request.counts, bool(plan.daily_tokens)
    # A conversation is fitted (older turns dropped); an API caller's messages are forwarded as sent, or refused.
    return await fit_prompt(services.relay.tokens, model, messages, request.params, plan=plan, count=count,
                            counts=counts, trim=prepared is not None or request.trim)  # fmt: skip


def consumption(
    services: Services, reserve: int = 0, reserves: Mapping[str, int] | None = None, *, count: int = 1
) -> Consumption:
    """What a chat call takes: `count` messages of the window (its `n` answers), `reserve` tokens of a daily cap (or
    `reserves`, one figure per plan, for a script that picks the plan itself) and a stream slot
    (MAX_STREAMS_PER_USER, STREAM_SLOT_SECONDS)."""
    settings = services.settings
    return Consumption(
        reserve, settings.MAX_STREAMS_PER_USER, settings.STREAM_SLOT_SECONDS, dict(reserves or {}), count=count
    )


async def answer_charged(
    services: Services, charged: Charged, request: ChatRequest, prepared: PreparedTurn | None = None
) -> ChatStream:
    """Send a charged call upstream and return its answer; the slot is refunded if no upstream answers."""
    charge = Charge(services, charged, prepared)
    body = {**upstream_params(request.params, charged.plan), "messages": charged.messages}
    stream = await _answer(services, charge, body, request, prepared)
    stream.rate = charged.ticket.rate
    return stream


async def _answer(
    services: Services, charge: Charge, body: dict[str, Any], request: ChatRequest, prepared: PreparedTurn | None
) -> ChatStream:
    charged = charge.charged
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
    guard = services.moderation.output_guard(user_id=charged.user_id, channel=charge.channel)
    answer = StreamedAnswer(charge, upstream, guard, start)
    answer.usage_chunk = request.include_usage and request.turn is None  # /v1 asked for stream_options.include_usage
    return answer.stream()


async def _prepare(services: Services, user_id: int, request: ChatRequest, model: Model) -> PreparedTurn | None:
    if request.turn is None:
        if request.messages is None:
            raise InvalidInput("A chat request needs messages or a conversation turn.", field="messages")
        check_messages(request.messages)
        return None
    images_ok = "image" in model.input_types  # else earlier pictures stay out; new ones are refused (input types)
    return await prepare_turn(services.store, services.settings, user_id, request.turn, images_ok=images_ok)
