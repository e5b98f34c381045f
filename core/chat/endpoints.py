"""More of the OpenAI API behind the same key, plan and quota: `POST /v1/embeddings` and `POST /v1/moderations`,
relayed to the upstreams of models that serve them (core.relay.catalogue Model.serves).

Each call is one message of the model's window in the caller's plan, taken atomically (core.billing.quotas) before
the upstream is asked and given back if no upstream answers; embedding input is moderated like chat input and its
tokens count against a daily token cap (reserved from our count, settled with the upstream's usage). Moderation
calls are not moderated (they are the check) and use no tokens. The upstream's JSON answer is returned unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.accounts.users import User
from core.billing.denials import count_denial, counting_denials
from core.billing.plans import Plan
from core.billing.quotas import Consumption, RateState, consume_quota, give_back
from core.billing.subscriptions import current_plan
from core.billing.usage import record_usage
from core.chat.charge import shielded
from core.chat.content import safe_media_url
from core.chat.token_count import count_tokens
from core.errors import InvalidInput, ModelNotFound, ModelNotInPlan, UnknownParameter
from core.relay.catalogue import Model, cached_model, list_models

if TYPE_CHECKING:
    from core.services import Services

EMBEDDING_PARAMS = frozenset({"model", "input", "encoding_format", "dimensions", "user"})
MODERATION_PARAMS = frozenset({"model", "input"})
MAX_INPUTS = 2048  # OpenAI's bound on the inputs of one embeddings call


@dataclass(frozen=True)
class Relayed:
    """An upstream's JSON answer to forward as it is, and the caller's limits after the call."""

    body: bytes
    data: dict[str, Any]
    rate: RateState | None


async def relay_embeddings(
    services: Services, user: User, body: Mapping[str, Any], *, plan: Plan | None = None
) -> Relayed:
    """Create embeddings (OpenAI's `POST /v1/embeddings`); CoreError for anything refused."""
    texts, tokens = _embedding_input(body)
    model_id = body.get("model")
    if not isinstance(model_id, str) or not model_id.strip():
        raise InvalidInput("you must provide a model parameter", field="model")
    model, plan = await _model_in_plan(services, user, model_id, "embeddings", plan)
    await services.moderation.check_texts(texts, user.id, "api")
    estimate = 0
    if plan.daily_tokens:  # counted in the token pool, off the event loop when the input is big
        size = sum(len(text) for text in texts)
        estimate = tokens + await services.relay.tokens.run(size, _count_all, texts, model.remote_name)
    return await _charged_call(services, user, model, plan, "embeddings", dict(body), estimate)


async def relay_moderations(
    services: Services, user: User, body: Mapping[str, Any], *, plan: Plan | None = None
) -> Relayed:
    """Classify text (OpenAI's `POST /v1/moderations`); without `model`, the plan's first moderation model."""
    _check_known(body, MODERATION_PARAMS)
    _moderation_input(body.get("input"))
    model_id = body.get("model")
    if model_id is None:
        plan = plan or await current_plan(services.store, user.id, services.clock())
        model_id = await _default_model(services, plan, "moderations")
    if not isinstance(model_id, str) or not model_id.strip():
        raise InvalidInput("model must be a string", field="model")
    model, plan = await _model_in_plan(services, user, model_id, "moderations", plan)
    return await _charged_call(services, user, model, plan, "moderations", {**body, "model": model.id}, 0)


async def _charged_call(
    services: Services, user: User, model: Model, plan: Plan, endpoint: str, body: dict[str, Any], estimate: int
) -> Relayed:
    """Take one message of the window (and the token estimate on a daily cap), ask the upstream, settle."""
    store = services.store
    # the reservation expires after STREAM_SLOT_SECONDS if this process dies before settling (no stream slot taken)
    use = Consumption(reserve=estimate, slot_seconds=services.settings.STREAM_SLOT_SECONDS)
    with counting_denials(services.metrics, model=model.id, channel="api"):
        ticket = await consume_quota(store, user.id, plan, model.id, services.clock(), use)
    try:
        raw, data = await services.relay.call(model, endpoint, body, "data" if endpoint == "embeddings" else "results")
    except BaseException:
        await shielded(give_back(store, ticket), "refund")
        raise
    usage = data.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    prompt = int(usage.get("prompt_tokens") or usage.get("total_tokens") or estimate or 0)
    settle = record_usage(
        store, user.id, model.id, prompt, 0, services.clock(), daily_tokens=bool(plan.daily_tokens), ticket=ticket
    )
    await shielded(settle, "usage accounting")
    return Relayed(raw, data, ticket.rate)


async def _model_in_plan(
    services: Services, user: User, model_id: str, kind: str, plan: Plan | None
) -> tuple[Model, Plan]:
    model = await cached_model(services.store, model_id)
    if model is None or not model.enabled:
        raise ModelNotFound(f"The model `{model_id}` does not exist.", model=model_id)
    if kind not in model.serves:
        raise ModelNotFound(f"The model `{model.id}` does not serve {kind} (it serves {', '.join(model.serves)}).",
                            model=model.id)  # fmt: skip
    plan = plan or await current_plan(services.store, user.id, services.clock())
    if model.id not in plan.limits:
        error = ModelNotInPlan(f"The {plan.title} plan does not include {model.id}.", model=model.id, plan=plan.name)
        count_denial(services.metrics, error, model=model.id, channel="api")
        raise error
    return model, plan


async def _default_model(services: Services, plan: Plan, kind: str) -> str:
    for model in await list_models(services.store):
        if model.enabled and kind in model.serves and model.id in plan.limits:
            return model.id
    raise ModelNotFound(f"Your plan includes no model that serves {kind}.", model=None)


def _count_all(texts: list[str], model: str) -> int:
    return sum(count_tokens(text, model) for text in texts)


def _check_known(body: Mapping[str, Any], known: frozenset[str]) -> None:
    for name in body:
        if name not in known:
            raise UnknownParameter(f"Unrecognized request argument supplied: {name}", field=name)


def _embedding_input(body: Mapping[str, Any]) -> tuple[list[str], int]:
    """Check an embeddings body; return its texts and the tokens it gives as token ids."""
    _check_known(body, EMBEDDING_PARAMS)
    value = body.get("input")
    items = value if isinstance(value, list) else [value]
    if isinstance(value, list) and value and all(isinstance(item, int) for item in value):
        items = [value]  # one input given as token ids
    if not items or len(items) > MAX_INPUTS:
        raise InvalidInput(f"input must be a string or an array of 1 to {MAX_INPUTS} inputs.", field="input")
    texts: list[str] = []
    tokens = 0
    for item in items:
        if isinstance(item, str) and item:
            texts.append(item)
        elif isinstance(item, list) and item and all(isinstance(t, int) and not isinstance(t, bool) for t in item):
            tokens += len(item)
        else:
            raise InvalidInput("Each input must be a non-empty string or array of token ids.", field="input")
    if body.get("encoding_format") not in (None, "float", "base64"):
        raise InvalidInput("encoding_format must be 'float' or 'base64'.", field="encoding_format")
    dimensions = body.get("dimensions")
    if dimensions is not None and (not isinstance(dimensions, int) or isinstance(dimensions, bool) or dimensions < 1):
        raise InvalidInput("dimensions must be a positive integer.", field="dimensions")
    if body.get("user") is not None and not isinstance(body.get("user"), str):
        raise InvalidInput("user must be a string.", field="user")
    return texts, tokens


def _moderation_input(value: Any) -> None:
    """Check a moderations `input`: a string, an array of strings, or an array of text / image_url parts."""
    if isinstance(value, str) and value:
        return
    if isinstance(value, list) and value:
        if all(isinstance(item, str) for item in value):
            return
        if all(isinstance(item, dict) and item.get("type") in ("text", "image_url") for item in value):
            for index, part in enumerate(value):
                image = part.get("image_url")
                url = image.get("url") if isinstance(image, dict) else image
                if part["type"] == "image_url" and not (isinstance(url, str) and safe_media_url(url)):
                    raise InvalidInput("An image must be an https:// URL of a public host, or data:image/...",
                                       field=f"input[{index}].image_url.url")  # fmt: skip
            return
    raise InvalidInput("input must be a string, an array of strings, or an array of text and image_url parts.",
                       field="input")  # fmt: skip
