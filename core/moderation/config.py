"""The moderation policy edited in the dashboard: which providers run, in what order, and what a provider outage
does (fail open or closed); the keyword list is kept with it (core.moderation.keywords).

Defaults are TEXT_SECURITY and MODERATION_FAIL_OPEN; what an admin sets is kept in the ``cfg:moderation`` hash and
read through this process's copy of runtime config, so every process follows it within a second. A provider can be
chosen only when its credentials are set in the environment (they never come from the dashboard).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import InvalidInput
from core.moderation.keywords import get_words, set_words
from core.settings import Settings
from core.site.audit import Actor, record_audit
from core.store.config_cache import cached_config, forget_config
from core.store.connection import Store

if TYPE_CHECKING:
    from core.moderation.pipeline import Moderation

CONFIG_NAME = "moderation"
PROVIDER_NAMES = ("keywords", "tencent", "baidu", "openai")
AUDITED_WORDS = 50  # at most this many added/removed words are written to the audit entry (and their counts)


@dataclass(frozen=True)
class ModerationConfig:
    providers: tuple[str, ...]
    fail_open: bool

    def public(self) -> dict[str, Any]:
        return {"providers": list(self.providers), "fail_open": self.fail_open}


def _from_settings(settings: Settings) -> ModerationConfig:
    names = tuple(dict.fromkeys(name.strip().lower() for name in settings.TEXT_SECURITY if name.strip()))
    return ModerationConfig(names, settings.MODERATION_FAIL_OPEN)


def _merge(settings: Settings, stored: dict[str, str]) -> ModerationConfig:
    config = _from_settings(settings)
    if "providers" in stored:
        names = tuple(name for name in stored["providers"].split(",") if name in PROVIDER_NAMES)
        config = ModerationConfig(names, config.fail_open)
    if stored.get("fail_open") in ("0", "1"):
        config = ModerationConfig(config.providers, stored["fail_open"] == "1")
    return config


async def _stored(store: Store) -> dict[str, str]:
    stored: dict[str, str] = await store.redis.hgetall(store.keys.moderation_config())  # type: ignore[assignment]
    return stored


async def moderation_config(store: Store, settings: Settings) -> ModerationConfig:
    """Return the policy in force (this process's copy, at most ~1 s old)."""
    return _merge(settings, await cached_config(store, CONFIG_NAME, _stored))


async def policy_override(store: Store, settings: Settings) -> ModerationConfig | None:
    """Return the policy set in the dashboard, or None when none was (the environment's applies)."""
    stored = await cached_config(store, CONFIG_NAME, _stored)
    return _merge(settings, stored) if stored else None


def _check_providers(names: Sequence[str], moderation: Moderation) -> tuple[str, ...]:
    if len(set(names)) != len(names):
        raise InvalidInput("A provider is listed twice.", field="providers")
    for name in names:
        if name not in PROVIDER_NAMES:
            choices = ", ".join(PROVIDER_NAMES)
            raise InvalidInput(f"Unknown provider {name!r}: choose from {choices}.", field="providers")
        missing = moderation.missing_settings(name)
        if missing:
            raise InvalidInput(
                f"{name} cannot be used: set {', '.join(missing)} in the environment first.", field="providers"
            )
    return tuple(names)


async def update_moderation(
    moderation: Moderation,
    actor: Actor,
    *,
    providers: Sequence[str] | None = None,
    fail_open: bool | None = None,
    words: Sequence[str] | None = None,
    now: float,
) -> tuple[ModerationConfig, list[str]]:
    """Change the policy and/or replace the keyword list (all checked before anything is written); audited."""
    store, settings = moderation.store, moderation.settings
    names = _check_providers(providers, moderation) if providers is not None else None
    before = _merge(settings, await _stored(store))
    old_words = await get_words(store)
    new_words = await set_words(store, words) if words is not None else old_words
    changes: dict[str, str] = {}
    if names is not None:
        changes["providers"] = ",".join(names)
    if fail_open is not None:
        changes["fail_open"] = "1" if fail_open else "0"
    if changes:
        await store.redis.hset(store.keys.moderation_config(), mapping=changes)  # type: ignore[arg-type]
        forget_config(store, CONFIG_NAME)
    after = _merge(settings, await _stored(store))
    await moderation.refresh()
    await _audit(store, actor, before, after, old_words, new_words, now)
    return after, new_words


async def _audit(
    store: Store, actor: Actor, before: ModerationConfig, after: ModerationConfig, old: list[str], new: list[str],
    now: float,
) -> None:  # fmt: skip
    added, removed = sorted(set(new) - set(old)), sorted(set(old) - set(new))
    if before == after and not added and not removed:
        return
    was, now_is = before.public(), after.public()
    if added or removed:
        was["words"] = {"count": len(old), "removed": removed[:AUDITED_WORDS], "removed_count": len(removed)}
        now_is["words"] = {"count": len(new), "added": added[:AUDITED_WORDS], "added_count": len(added)}
    await record_audit(store, actor, "moderation.update", "moderation", was, now_is, now)
