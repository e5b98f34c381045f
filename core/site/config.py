"""Site settings edited in the dashboard: title, WeChat official-account name, who may register, the default
language and the invitation reward.

Each value defaults to its setting (NEXT_PUBLIC_TITLE, NEXT_PUBLIC_WECHAT_OA, DEFAULT_LANGUAGE,
INVITE_RESET_CHANCES; registration is open by default); what an admin changes is kept in the ``cfg:site`` hash and
read through this process's copy of runtime config (core.store.config_cache), so every process sees a change within
a second, the one that made it at once. Secrets are never here: they stay in the environment.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from core.errors import InvalidInput
from core.settings import Settings
from core.site.audit import Actor, record_audit
from core.store.config_cache import cached_config, forget_config
from core.store.connection import Store

CONFIG_NAME = "site"
REGISTRATION_MODES = ("open", "invite", "closed")
MAX_INVITE_REWARD = 100
UNUSED_SECRETS = frozenset({"BING_COOKIE"})  # accepted for compatibility with the original, never used


@dataclass(frozen=True)
class SiteConfig:
    title: str
    wechat_oa: str
    registration: str  # open | invite (an invitation code is required) | closed
    default_language: str
    invite_reset_chances: int  # reset chances an inviter gets per invitee

    def public(self) -> dict[str, Any]:
        return asdict(self)


class SiteChanges(BaseModel):
    """The fields an admin may change (any subset); validated before anything is written."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    title: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    wechat_oa: Annotated[str, Field(max_length=64)] | None = None
    registration: Literal["open", "invite", "closed"] | None = None
    default_language: Literal["zh-CN", "en"] | None = None
    invite_reset_chances: Annotated[int, Field(ge=0, le=MAX_INVITE_REWARD)] | None = None


def defaults(settings: Settings) -> SiteConfig:
    """Return the site settings as the environment gives them."""
    return SiteConfig(
        title=settings.NEXT_PUBLIC_TITLE,
        wechat_oa=settings.NEXT_PUBLIC_WECHAT_OA,
        registration="open",
        default_language=settings.DEFAULT_LANGUAGE,
        invite_reset_chances=settings.INVITE_RESET_CHANCES,
    )


def _merge(settings: Settings, stored: dict[str, str]) -> SiteConfig:
    config = defaults(settings)
    values: dict[str, Any] = {}
    for item in fields(SiteConfig):
        raw = stored.get(item.name)
        if raw is None:
            continue
        values[item.name] = int(raw) if item.type in (int, "int") else raw
    try:
        checked = SiteChanges.model_validate(values)
    except ValidationError:
        return config  # a hand-edited record that no longer validates: the environment's values
    return replace(config, **checked.model_dump(exclude_none=True))


async def _stored(store: Store) -> dict[str, str]:
    stored: dict[str, str] = await store.redis.hgetall(store.keys.site_config())  # type: ignore[assignment]
    return stored


async def site_config(store: Store, settings: Settings) -> SiteConfig:
    """Return the site settings from this process's copy (at most ~1 s old)."""
    return _merge(settings, await cached_config(store, CONFIG_NAME, _stored))


def _validate(changes: dict[str, Any]) -> dict[str, Any]:
    try:
        checked = SiteChanges.model_validate(changes)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        raise InvalidInput(f"{where}: {first['msg']}", field=where) from exc
    return checked.model_dump(exclude_none=True)


async def update_site_config(
    store: Store, settings: Settings, actor: Actor, changes: dict[str, Any], now: float
) -> SiteConfig:
    """Validate and apply changes (nothing is written when one is bad) and record them in the audit log."""
    values = _validate(changes)
    before = _merge(settings, await _stored(store))
    if values:
        await store.redis.hset(store.keys.site_config(), mapping={k: str(v) for k, v in values.items()})
        forget_config(store, CONFIG_NAME)
    after = _merge(settings, await _stored(store))
    changed = {name for name in values if getattr(before, name) != getattr(after, name)}
    if changed:
        await record_audit(
            store, actor, "settings.update", "site",
            {name: getattr(before, name) for name in sorted(changed)},
            {name: getattr(after, name) for name in sorted(changed)}, now,
        )  # fmt: skip
    return after


def secret_status(settings: Settings) -> list[dict[str, Any]]:
    """Say which secrets the environment sets (never their values): every secret setting, and whether the store
    URL carries a password."""
    status = []
    for name, info in Settings.model_fields.items():
        if info.annotation is SecretStr and name not in UNUSED_SECRETS:
            status.append({"name": name, "set": bool(getattr(settings, name).get_secret_value())})
    status.append({"name": "REDIS_URL", "set": bool(settings.REDIS_URL)})
    return sorted(status, key=lambda item: str(item["name"]))
