"""Models and upstreams as the dashboard changes them: validated, audited, seen by every process within a second.

An upstream key is entered once: answers and the audit log show it masked (`sk-...abcd`); an edit that sends a
masked key back keeps that key, a new plain key is added, a key left out is removed. A malformed key (spaces,
control characters, too short or long, or a mask typed in as a key) is refused before anything is written.
An upstream that models name cannot be deleted (disable it, or take it off the models first).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from core.errors import AlreadyExists, InUse, InvalidInput, NotFound
from core.relay.catalogue import Model, Upstream, delete_model, get_model, list_models, mask_key, read_all, save_model
from core.relay.registry import delete_upstream, get_upstream, save_upstream
from core.relay.registry import list_upstreams as list_registry
from core.relay.upstream_stats import recent_counts
from core.relay.upstreams import UpstreamCheck, check_upstream, reset_health, upstream_health
from core.settings import Settings
from core.site.audit import Actor, record_audit
from core.store.connection import Store

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{8,512}$")  # printable ASCII, no spaces
UPSTREAM_FIELDS = ("name", "base_url", "kind", "priority", "weight", "api_version", "deployment", "enabled")
TEST_MODEL_FALLBACK = "gpt-4o-mini"


def _masked(key: str) -> bool:
    return "..." in key or "…" in key


def merge_keys(sent: Any, current: list[str]) -> list[str]:
    """Return the keys after an edit: masks of current keys keep them, plain keys are new ones."""
    if not isinstance(sent, list) or not all(isinstance(key, str) for key in sent):
        raise InvalidInput("keys must be a list of strings.", field="keys")
    remaining = list(current)
    keys: list[str] = []
    for raw in (key.strip() for key in sent):
        if not raw:
            continue
        if _masked(raw):
            match = next((key for key in remaining if mask_key(key) == raw), None)
            if match is None:
                raise InvalidInput("A masked key must be one of this upstream's keys; type new keys in full.",
                                   field="keys")  # fmt: skip
            remaining.remove(match)
            keys.append(match)
            continue
        if not KEY_PATTERN.match(raw):
            raise InvalidInput("A key is 8 to 512 printable characters without spaces.", field="keys")
        keys.append(raw)
    if len(set(keys)) != len(keys):
        raise InvalidInput("The same key is listed twice.", field="keys")
    return keys


def _upstream_from(data: Any, upstream_id: str, current: Upstream | None) -> Upstream:
    if not isinstance(data, dict):
        raise InvalidInput("An upstream must be a JSON object.", field="upstream")
    unknown = set(data) - {"id", "keys", *UPSTREAM_FIELDS}
    if unknown:
        raise InvalidInput(f"Unknown field {sorted(unknown)[0]!r}.", field=sorted(unknown)[0])
    base = current.public() if current else {}
    fields = {**base, **{k: v for k, v in data.items() if k != "keys"}, "id": upstream_id, "keys": []}
    upstream = Upstream.from_dict(fields)
    return replace(upstream, keys=merge_keys(data.get("keys", base.get("keys", [])), current.keys if current else []))


async def models_using(store: Store, upstream_id: str) -> list[str]:
    """Return the ids of the models that name an upstream."""
    return [model.id for model in await list_models(store) if any(up.id == upstream_id for up in model.upstreams)]


async def create_upstream(store: Store, actor: Actor, data: Any, now: float) -> Upstream:
    """Add an upstream to the registry; AlreadyExists when its id is taken."""
    upstream_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(upstream_id, str) or not upstream_id.strip():
        raise InvalidInput("id must be a non-empty string.", field="id")
    if await get_upstream(store, upstream_id.strip()) is not None:
        raise AlreadyExists(f"An upstream {upstream_id!r} already exists.", field="id")
    upstream = _upstream_from(data, upstream_id.strip(), None)
    await save_upstream(store, upstream)
    await record_audit(store, actor, "upstream.create", upstream.id, None, upstream.public(), now)
    return upstream


async def update_upstream(store: Store, actor: Actor, upstream_id: str, data: Any, now: float) -> Upstream:
    """Change an upstream (any of its fields; keys as described above) for every model that uses it."""
    current = await get_upstream(store, upstream_id)
    if current is None:
        raise NotFound(f"There is no upstream {upstream_id!r}.")
    if isinstance(data, dict) and data.get("id", upstream_id) != upstream_id:
        raise InvalidInput("An upstream's id cannot change.", field="id")
    upstream = _upstream_from(data, upstream_id, current)
    await save_upstream(store, upstream)
    if upstream.enabled and not current.enabled:
        await reset_health(store, upstream_id)  # back in service: its old failures no longer count
    if upstream != current:
        await record_audit(store, actor, "upstream.update", upstream_id, current.public(), upstream.public(), now)
    return upstream


async def remove_upstream(store: Store, actor: Actor, upstream_id: str, now: float) -> None:
    """Delete an upstream no model uses."""
    current = await get_upstream(store, upstream_id)
    if current is None:
        raise NotFound(f"There is no upstream {upstream_id!r}.")
    users = await models_using(store, upstream_id)
    if users:
        raise InUse(f"Models still use this upstream: {', '.join(users)}.", models=users)
    await delete_upstream(store, upstream_id)
    await record_audit(store, actor, "upstream.delete", upstream_id, current.public(), None, now)


async def try_upstream(store: Store, settings: Settings, upstream_id: str, model_id: str | None) -> UpstreamCheck:
    """Send a one-token request through an upstream (for `model_id`, else a model that uses it)."""
    upstream = await get_upstream(store, upstream_id)
    if upstream is None:
        raise NotFound(f"There is no upstream {upstream_id!r}.")
    remote = model_id or TEST_MODEL_FALLBACK
    models = {model.id: model for model in await list_models(store)}
    if model_id and model_id in models:
        remote = models[model_id].remote_name
    elif not model_id:
        using = [model for model in models.values() if any(up.id == upstream_id for up in model.upstreams)]
        remote = using[0].remote_name if using else TEST_MODEL_FALLBACK
    return await check_upstream(upstream, remote, settings)


async def _model_from(store: Store, data: Any, model_id: str) -> Model:
    if not isinstance(data, dict):
        raise InvalidInput("A model must be a JSON object.", field="model")
    ids = data.get("upstreams", [])
    if not isinstance(ids, list) or not all(isinstance(item, str) for item in ids):
        raise InvalidInput("upstreams must be a list of upstream ids.", field="upstreams")
    _, registry = await read_all(store)
    return Model.from_dict({**data, "id": model_id}, registry)


async def create_model(store: Store, actor: Actor, data: Any, now: float) -> Model:
    """Add a model served by upstreams of the registry; AlreadyExists when its id is taken."""
    model_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(model_id, str) or not model_id.strip():
        raise InvalidInput("id must be a non-empty string.", field="id")
    model = await _model_from(store, data, model_id.strip())
    if await get_model(store, model.id) is not None:
        raise AlreadyExists(f"A model {model.id!r} already exists.", field="id")
    model.created = int(now)
    await save_model(store, model, with_upstreams=False)
    await record_audit(store, actor, "model.create", model.id, None, model.stored(), now)
    return model


async def update_model(store: Store, actor: Actor, model_id: str, data: Any, now: float) -> Model:
    """Replace a model's settings (its id stays)."""
    current = await get_model(store, model_id)
    if current is None:
        raise NotFound(f"There is no model {model_id!r}.")
    if isinstance(data, dict) and data.get("id", model_id) != model_id:
        raise InvalidInput("A model's id cannot change.", field="id")
    model = await _model_from(store, {**current.stored(), **data}, model_id)
    await save_model(store, model, with_upstreams=False)
    if model.stored() != current.stored():
        await record_audit(store, actor, "model.update", model_id, current.stored(), model.stored(), now)
    return model


async def remove_model(store: Store, actor: Actor, model_id: str, now: float) -> None:
    """Delete a model (plans that list it keep the entry; calls to it are refused)."""
    current = await get_model(store, model_id)
    if current is None:
        raise NotFound(f"There is no model {model_id!r}.")
    await delete_model(store, model_id)
    await record_audit(store, actor, "model.delete", model_id, current.stored(), None, now)


async def upstreams_overview(store: Store, now: float) -> list[dict[str, Any]]:
    """Return every upstream (keys masked) with the models it serves and its live health: success rate and
    first-byte latency over the last 24 hours, consecutive failures, benched-until and the last error."""
    upstreams = await list_registry(store)
    ids = [upstream.id for upstream in upstreams]
    if not ids:
        return []
    recent = await recent_counts(store, ids, now)
    health = await upstream_health(store, ids)
    models = await list_models(store)
    result = []
    for upstream in upstreams:
        counts, state = recent[upstream.id], health[upstream.id]
        result.append({
            **upstream.public(),
            "models": [model.id for model in models if any(up.id == upstream.id for up in model.upstreams)],
            "last_24h": {"ok": counts.ok, "fail": counts.fail, "success_rate": counts.success_rate,
                         "latency_ms": counts.mean_latency_ms},
            "fails": state.fails, "benched_until": state.benched_until, "last_error": state.last_error,
        })  # fmt: skip
    return result
