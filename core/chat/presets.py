"""Prompt presets: reusable system prompts a user creates, kept in ``{u:ID}:presets`` (id -> JSON)."""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from redis.asyncio.client import Pipeline

from core.errors import InvalidInput, LimitReached, NotFound
from core.store.connection import Store

MAX_PRESETS_PER_USER = 50
NAME_MAX_CHARS = 60
PROMPT_MAX_CHARS = 8000


@dataclass(frozen=True)
class Preset:
    id: str
    name: str
    prompt: str
    created_at: float

    def public(self) -> dict[str, Any]:
        return asdict(self)


def _load(raw: str | bytes) -> Preset:
    data = orjson.loads(raw)
    return Preset(data["id"], data["name"], data["prompt"], float(data["created_at"]))


def _validate(name: str, prompt: str) -> tuple[str, str]:
    cleaned_name = " ".join(name.split())
    if not cleaned_name or len(cleaned_name) > NAME_MAX_CHARS:
        raise InvalidInput(f"The preset name must be 1 to {NAME_MAX_CHARS} characters.", field="name")
    cleaned_prompt = prompt.strip()
    if not cleaned_prompt or len(cleaned_prompt) > PROMPT_MAX_CHARS:
        raise InvalidInput(f"The prompt must be 1 to {PROMPT_MAX_CHARS} characters.", field="prompt")
    return cleaned_name, cleaned_prompt


async def list_presets(store: Store, user_id: int | str) -> list[Preset]:
    """List a user's presets, oldest first (the order they were made in)."""
    presets = [_load(raw) for raw in await store.redis.hvals(store.keys.presets(user_id))]
    return sorted(presets, key=lambda preset: (preset.created_at, preset.id))


async def save_preset(
    store: Store,
    user_id: int | str,
    name: str,
    prompt: str,
    *,
    preset_id: str | None = None,
    now: float | None = None,
) -> Preset:
    """Create a preset (at most 50), or update `preset_id` in place keeping its creation time."""
    cleaned_name, cleaned_prompt = _validate(name, prompt)
    key = store.keys.presets(user_id)
    created = time.time() if now is None else now

    async def write(pipe: Pipeline) -> Preset:
        if preset_id is not None:
            raw = await pipe.hget(key, preset_id)
            if raw is None:
                raise NotFound("Preset not found.")
            preset = Preset(preset_id, cleaned_name, cleaned_prompt, _load(raw).created_at)
        elif await pipe.hlen(key) >= MAX_PRESETS_PER_USER:
            raise LimitReached(f"At most {MAX_PRESETS_PER_USER} presets per account.", limit=MAX_PRESETS_PER_USER)
        else:
            preset = Preset(secrets.token_hex(6), cleaned_name, cleaned_prompt, created)
        pipe.multi()
        pipe.hset(key, preset.id, orjson.dumps(preset.public()).decode())
        return preset

    result: Preset = await store.redis.transaction(write, key, value_from_callable=True)
    return result


async def get_preset(store: Store, user_id: int | str, preset_id: str) -> Preset:
    """Return one preset or raise NotFound."""
    raw = await store.redis.hget(store.keys.presets(user_id), preset_id)
    if raw is None:
        raise NotFound("Preset not found.")
    return _load(raw)


async def delete_preset(store: Store, user_id: int | str, preset_id: str) -> None:
    """Delete a preset; NotFound if the user has none with this id."""
    if not await store.redis.hdel(store.keys.presets(user_id), preset_id):
        raise NotFound("Preset not found.")
