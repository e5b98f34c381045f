"""Models and their upstreams: runtime config in the store, seeded once.

Upstreams are kept once each in the hash cfg:upstreams (upstream id -> JSON, keys included); models in cfg:models
(model id -> JSON naming its upstreams by id). Loading a model resolves the ids, so editing an upstream (its key,
its priority, disabling it) changes it for every model it serves at once. A model stored before upstreams had a
registry of their own carries them whole; that still loads (the registry wins for an id it knows), and
`migrate_upstreams` moves them into the registry.

The chat path reads `cached_model`, this process's copy of both hashes (core.store.config_cache): a change made
through this process is seen at once, one made by another process within a second.

A model says what it serves (`serves`: chat, embeddings, moderations; default chat): the web chat, the bots and
/v1/chat/completions use chat models, /v1/embeddings and /v1/moderations the others. `created` is when it was
added (unix seconds; /v1/models shows it). A model says which kinds of input it accepts (`input_types`, default
text only: an operator turns images, audio or files on per model); the chat path refuses content parts of other
kinds before anything is sent (core.chat.content).

An upstream id names one endpoint; models served by the same endpoint share the id and so share its health
(core.relay.upstreams). Upstream keys are kept in the store because operators edit them from the dashboard; `public()`
masks them for anything that reaches a browser. A model's input and output prices (integer fen per million tokens)
are what the operator pays upstream: the dashboard's cost and margin charts.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import orjson

from core.errors import InvalidInput
from core.relay.fields import INPUT_TYPES as INPUT_TYPES
from core.relay.fields import SERVES as SERVES
from core.relay.fields import bool_field, input_types_field, int_field, keys_field, serves_field, text_field
from core.relay.known_models import DEFAULT_CONTEXT_WINDOW, DISPLAY_NAMES, known_context_window
from core.settings import Settings
from core.store.config_cache import cached_config, forget_config
from core.store.connection import Store

log = logging.getLogger(__name__)

UpstreamKind = Literal["openai", "azure"]
MAX_CONTEXT_WINDOW = 10_000_000
MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,99}$")
CONFIG_NAME = "models"  # this process's cached copy (core.store.config_cache)
UPSTREAM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
UPSTREAMS_CONFIG = "upstreams"  # the registry's cached copy is read together with the models (CONFIG_NAME)
MAX_PRICE_PER_MTOK = 100_000_000  # fen per million tokens: a million yuan is a typo


def api_root(endpoint: str) -> str:
    """Turn OPENAI_ENDPOINT (a base URL without /v1, as in the original) into the API root with /v1."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1") else f"{endpoint}/v1"


def mask_key(key: str) -> str:
    """Show an upstream key as `sk-...abcd`: its first three and last four characters (short keys: nothing)."""
    return f"{key[:3]}...{key[-4:]}" if len(key) >= 12 else "..."


@dataclass
class Upstream:
    id: str
    base_url: str
    keys: list[str] = field(default_factory=list, repr=False)
    kind: UpstreamKind = "openai"
    priority: int = 0
    weight: int = 1
    api_version: str = ""
    deployment: str = ""
    name: str = ""
    enabled: bool = True

    @classmethod
    def from_dict(cls, data: Any) -> Upstream:
        """Validate and build an upstream from its JSON form."""
        if not isinstance(data, dict):
            raise InvalidInput("An upstream must be an object.")
        upstream = cls(
            id=text_field(data, "id"),
            base_url=text_field(data, "base_url").rstrip("/"),
            keys=keys_field(data.get("keys", [])),
            kind=data.get("kind", "openai"),
            priority=int_field(data, "priority", 0, -1000, 1000),
            weight=int_field(data, "weight", 1, 0, 10_000),
            api_version=text_field(data, "api_version", ""),
            deployment=text_field(data, "deployment", ""),
            name=text_field(data, "name", ""),
            enabled=bool_field(data, "enabled", True),
        )
        upstream.validate()
        return upstream

    def validate(self) -> None:
        """Raise InvalidInput when the upstream cannot be used."""
        if not UPSTREAM_ID.match(self.id):
            raise InvalidInput("An upstream id uses letters, digits, '.', '_' or '-'.", field="id")
        if not self.base_url.startswith(("http://", "https://")):
            raise InvalidInput("An upstream base URL must start with http:// or https://.", field="base_url")
        if self.kind not in ("openai", "azure"):
            raise InvalidInput("An upstream kind is 'openai' or 'azure'.", field="kind")
        if self.kind == "azure" and not (self.deployment and self.api_version):
            raise InvalidInput("An azure upstream needs a deployment and an api_version.", field="deployment")

    def public(self) -> dict[str, Any]:
        """Return the upstream for the dashboard, keys masked."""
        data = asdict(self)
        data["keys"] = [mask_key(key) for key in self.keys]
        return data


@dataclass
class Model:
    id: str
    name: str
    context_window: int = DEFAULT_CONTEXT_WINDOW
    upstreams: list[Upstream] = field(default_factory=list)
    upstream_model: str = ""
    enabled: bool = True
    position: int = 0
    input_price: int = 0  # fen per million prompt tokens (what the upstream charges the operator)
    output_price: int = 0  # fen per million completion tokens
    input_types: list[str] = field(default_factory=lambda: ["text"])  # of INPUT_TYPES; requests are checked
    serves: list[str] = field(default_factory=lambda: ["chat"])  # of SERVES
    created: int = 0  # unix seconds when it was added (0: stored before the field; stamped at start)

    @property
    def remote_name(self) -> str:
        """Return the model name sent upstream."""
        return self.upstream_model or self.id

    @property
    def chats(self) -> bool:
        """Tell whether the model answers chat (the web chat, the bots, /v1/chat/completions, /v1/responses)."""
        return "chat" in self.serves

    @classmethod
    def from_dict(
        cls, data: Any, registry: Mapping[str, Upstream] | None = None, *, require_upstreams: bool = True
    ) -> Model:
        """Validate and build a model from its JSON form; its upstreams are objects, or ids of `registry`'s."""
        if not isinstance(data, dict):
            raise InvalidInput("A model must be an object.")
        model_id = text_field(data, "id")
        raw_upstreams = data.get("upstreams", [])
        if not isinstance(raw_upstreams, list):
            raise InvalidInput("upstreams must be a list.", field="upstreams")
        model = cls(
            id=model_id,
            name=text_field(data, "name", "") or model_id,
            context_window=int_field(data, "context_window", DEFAULT_CONTEXT_WINDOW, 1, MAX_CONTEXT_WINDOW),
            upstreams=_resolve(raw_upstreams, registry or {}, strict=require_upstreams),
            upstream_model=text_field(data, "upstream_model", ""),
            enabled=bool_field(data, "enabled", True),
            position=int_field(data, "position", 0, -1_000_000, 1_000_000),
            input_price=int_field(data, "input_price", 0, 0, MAX_PRICE_PER_MTOK),
            output_price=int_field(data, "output_price", 0, 0, MAX_PRICE_PER_MTOK),
            input_types=input_types_field(data.get("input_types", ["text"])),
            serves=serves_field(data.get("serves", ["chat"])),
            created=int_field(data, "created", 0, 0, 2**40),
        )
        if require_upstreams:
            model.validate()
        return model

    def validate(self) -> None:
        """Raise InvalidInput when the model cannot be saved."""
        if not MODEL_ID.match(self.id):
            raise InvalidInput("A model id uses letters, digits and . _ : / @ + -.", field="id")
        if not self.upstreams:
            raise InvalidInput("A model needs at least one upstream.", field="upstreams")
        ids = [upstream.id for upstream in self.upstreams]
        if len(set(ids)) != len(ids):
            raise InvalidInput("Upstream ids must be unique within a model.", field="upstreams")
        for upstream in self.upstreams:
            upstream.validate()
        self.input_types = input_types_field(self.input_types)
        self.serves = serves_field(self.serves)

    def to_dict(self) -> dict[str, Any]:
        """Return the whole model, its upstreams included with their keys (never send this to a browser)."""
        return asdict(self)

    def stored(self) -> dict[str, Any]:
        """Return the form kept in cfg:models: the upstreams by id (they are kept in cfg:upstreams)."""
        data = asdict(self)
        data["upstreams"] = [upstream.id for upstream in self.upstreams]
        return data

    def public(self) -> dict[str, Any]:
        """Return the model for the dashboard, upstream keys masked."""
        data = asdict(self)
        data["upstreams"] = [upstream.public() for upstream in self.upstreams]
        return data


def _resolve(items: list[Any], registry: Mapping[str, Upstream], *, strict: bool) -> list[Upstream]:
    """Turn a model's upstream entries (ids, or whole objects as stored before the registry) into upstreams."""
    upstreams: list[Upstream] = []
    for item in items:
        if isinstance(item, str):
            found = registry.get(item)
            if found is None and strict:
                raise InvalidInput(f"There is no upstream {item!r}.", field="upstreams")
            if found is not None:
                upstreams.append(found)
        elif isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"] in registry:
            upstreams.append(registry[item["id"]])
        else:
            upstreams.append(Upstream.from_dict(item))
    return upstreams


def registry_of(raw: Mapping[str, str | bytes]) -> dict[str, Upstream]:
    upstreams: dict[str, Upstream] = {}
    for upstream_id, value in raw.items():
        try:
            upstreams[str(upstream_id)] = Upstream.from_dict(orjson.loads(value))
        except (InvalidInput, orjson.JSONDecodeError):
            log.error("skipping the unreadable upstream config %r", upstream_id)
    return upstreams


def _load(raw: str | bytes, registry: Mapping[str, Upstream]) -> Model:
    return Model.from_dict(orjson.loads(raw), registry, require_upstreams=False)


async def read_all(store: Store) -> tuple[dict[str, str], dict[str, Upstream]]:
    async with store.redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(store.keys.models())
        pipe.hgetall(store.keys.upstreams())
        models, upstreams = await pipe.execute()
    return models, registry_of(upstreams)


async def list_models(store: Store) -> list[Model]:
    """Return every model, ordered by position then id (a corrupt entry is logged and skipped)."""
    raw, registry = await read_all(store)
    models = []
    for model_id, value in raw.items():
        try:
            models.append(_load(value, registry))
        except (InvalidInput, orjson.JSONDecodeError):
            log.error("skipping the unreadable model config %r", model_id)
    return sorted(models, key=lambda model: (model.position, model.id))


async def get_model(store: Store, model_id: str) -> Model | None:
    """Return one model, or None when it does not exist."""
    async with store.redis.pipeline(transaction=False) as pipe:
        pipe.hget(store.keys.models(), model_id)
        pipe.hgetall(store.keys.upstreams())
        raw, upstreams = await pipe.execute()
    return _load(raw, registry_of(upstreams)) if raw else None


async def _models_by_id(store: Store) -> dict[str, Model]:
    return {model.id: model for model in await list_models(store)}


async def cached_model(store: Store, model_id: str) -> Model | None:
    """Return one model from this process's copy of the config (at most ~1 s old; the chat hot path)."""
    return (await cached_config(store, CONFIG_NAME, _models_by_id)).get(model_id)


async def save_model(store: Store, model: Model, *, with_upstreams: bool = True, now: float | None = None) -> None:
    """Validate and store a model (create or replace) and, unless told not to, the upstreams it carries (shared by
    id: this replaces their definitions for every model). The dashboard edits upstreams on their own and passes
    `with_upstreams=False`, so saving a model never writes back a copy of an upstream read a moment before.
    A model without a `created` time gets `now` (default: the clock)."""
    model.validate()
    if not model.created:
        model.created = int(time.time() if now is None else now)
    async with store.redis.pipeline(transaction=False) as pipe:  # the upstreams first: a model never names a gap
        if with_upstreams:
            pipe.hset(
                store.keys.upstreams(),
                mapping={upstream.id: orjson.dumps(asdict(upstream)).decode() for upstream in model.upstreams},
            )
        pipe.hset(store.keys.models(), model.id, orjson.dumps(model.stored()).decode())
        await pipe.execute()
    forget_config(store, CONFIG_NAME)


async def delete_model(store: Store, model_id: str) -> bool:
    """Delete a model; True when it existed."""
    deleted = bool(await store.redis.hdel(store.keys.models(), model_id))
    forget_config(store, CONFIG_NAME)
    return deleted


def seed_upstream(settings: Settings) -> Upstream:
    """Build the upstream described by OPENAI_ENDPOINT / OPENAI_API_KEY (a comma list gives several keys)."""
    keys = [key.strip() for key in settings.OPENAI_API_KEY.get_secret_value().split(",") if key.strip()]
    return Upstream(id="default", base_url=api_root(settings.OPENAI_ENDPOINT), keys=keys, name="OPENAI_ENDPOINT")


async def seed_models(store: Store, settings: Settings) -> bool:
    """On the first start only, store OPENAI_MODELS served by the settings' upstream; True when it seeded."""
    if not await store.redis.set(store.keys.config_seeded(), "1", nx=True):
        return False
    upstream = seed_upstream(settings)
    for position, model_id in enumerate(settings.OPENAI_MODELS):
        model = Model(
            id=model_id,
            name=DISPLAY_NAMES.get(model_id, model_id),
            context_window=known_context_window(model_id),
            upstreams=[upstream],
            position=position,
            created=int(time.time()),
        )
        model.validate()
        # HSETNX: a model or upstream the admin created before this process won the seed race is never overwritten.
        await store.redis.hsetnx(store.keys.upstreams(), upstream.id, orjson.dumps(asdict(upstream)).decode())
        await store.redis.hsetnx(store.keys.models(), model.id, orjson.dumps(model.stored()).decode())
    forget_config(store, CONFIG_NAME)
    return True
