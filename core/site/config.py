"""Site settings edited in the dashboard: title, WeChat official-account name, who may register, the default
language, the invitation rewards and how long an unpaid order waits.

Each value defaults to its setting (NEXT_PUBLIC_TITLE, NEXT_PUBLIC_WECHAT_OA, DEFAULT_LANGUAGE, the INVITE_*
settings, ORDER_EXPIRE_SECONDS; registration is open by default); what an admin changes is kept in the ``cfg:site``
hash and read through this process's copy of runtime config (core.store.config_cache), so every process sees a
change within a second, the one that made it at once. Code that reads those settings takes them from
`runtime_settings` (the settings with the dashboard's values applied). Secrets are never here: they stay in the
environment.
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
# SiteConfig field -> the setting it overrides (and how a value converts to it)
OVERRIDES: dict[str, tuple[str, int]] = {
    "title": ("NEXT_PUBLIC_TITLE", 1),
    "wechat_oa": ("NEXT_PUBLIC_WECHAT_OA", 1),
    "default_language": ("DEFAULT_LANGUAGE", 1),
    "invite_reset_chances": ("INVITE_RESET_CHANCES", 1),
    "invite_rewards_per_day": ("INVITE_REWARDS_PER_DAY", 1),
    "invite_bonus_days": ("INVITE_BONUS_DAYS", 1),
    "invite_bonus_plan": ("INVITE_BONUS_PLAN", 1),
    "invite_commission_percent": ("INVITE_COMMISSION_PERCENT", 1),
    "invite_commission_days": ("INVITE_COMMISSION_DAYS", 1),
    "order_expire_minutes": ("ORDER_EXPIRE_SECONDS", 60),
}
UNUSED_SECRETS = frozenset({"BING_COOKIE"})  # accepted for compatibility with the original, never used


@dataclass(frozen=True)
class SiteConfig:
    title: str
    wechat_oa: str
    registration: str  # open | invite (an invitation code is required) | closed
    default_language: str
    invite_reset_chances: int  # reset chances an inviter gets per rewarded invitee
    invite_rewards_per_day: int  # rewards one inviter can earn per UTC day
    invite_bonus_days: int  # days of the bonus plan for inviter and invitee (0: none)
    invite_bonus_plan: str  # "": the cheapest plan on sale
    invite_commission_percent: int  # of invitees' paid orders, into the inviter's ledger
    invite_commission_days: int  # after the invitee signs up (0: no limit)
    order_expire_minutes: int  # an unpaid order expires after this

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
    invite_rewards_per_day: Annotated[int, Field(ge=0, le=10_000)] | None = None
    invite_bonus_days: Annotated[int, Field(ge=0, le=3660)] | None = None
    invite_bonus_plan: Annotated[str, Field(pattern=r"^([A-Za-z0-9][A-Za-z0-9_-]{0,31})?$")] | None = None
    invite_commission_percent: Annotated[int, Field(ge=0, le=100)] | None = None
    invite_commission_days: Annotated[int, Field(ge=0, le=36_600)] | None = None
    order_expire_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)] | None = None


def defaults(settings: Settings) -> SiteConfig:
    """Return the site settings as the environment gives them."""
    return SiteConfig(
        title=settings.NEXT_PUBLIC_TITLE,
        wechat_oa=settings.NEXT_PUBLIC_WECHAT_OA,
        registration="open",
        default_language=settings.DEFAULT_LANGUAGE,
        invite_reset_chances=settings.INVITE_RESET_CHANCES,
        invite_rewards_per_day=settings.INVITE_REWARDS_PER_DAY,
        invite_bonus_days=settings.INVITE_BONUS_DAYS,
        invite_bonus_plan=settings.INVITE_BONUS_PLAN,
        invite_commission_percent=settings.INVITE_COMMISSION_PERCENT,
        invite_commission_days=settings.INVITE_COMMISSION_DAYS,
        order_expire_minutes=max(1, settings.ORDER_EXPIRE_SECONDS // 60),
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


async def runtime_settings(store: Store, settings: Settings) -> Settings:
    """Return the settings with the dashboard's values applied (title, WeChat account, language, invitation
    rewards, order expiry), for code that reads those settings."""
    site = await site_config(store, settings)
    update = {name: getattr(site, field) * factor if factor != 1 else getattr(site, field)
              for field, (name, factor) in OVERRIDES.items()}  # fmt: skip
    if all(getattr(settings, name) == value for name, value in update.items()):
        return settings
    return settings.model_copy(update=update)


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
