"""A user's interface preferences, kept on the server so every device shows the same (``{u:ID}:prefs``, a hash)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from core.errors import InvalidInput
from core.store.connection import Store

THEMES = ("system", "light", "dark")


@dataclass(frozen=True)
class Preferences:
    theme: str = "system"  # light | dark | system (follow the device)

    def public(self) -> dict[str, Any]:
        return asdict(self)


def _theme(value: object) -> str:
    return str(value) if value in THEMES else "system"


async def get_preferences(store: Store, user_id: int | str) -> Preferences:
    """Return the user's preferences (defaults for what was never set)."""
    data = await store.redis.hgetall(store.keys.preferences(user_id))
    return Preferences(theme=_theme(data.get("theme")))


async def set_preferences(store: Store, user_id: int | str, *, theme: str | None = None) -> Preferences:
    """Change the given preferences; InvalidInput for a value that is not offered."""
    if theme is not None and theme not in THEMES:
        raise InvalidInput(f"theme must be one of {', '.join(THEMES)}.", field="theme")
    if theme is not None:
        await store.redis.hset(store.keys.preferences(user_id), "theme", theme)
    return await get_preferences(store, user_id)
