"""The site announcement (Markdown), versioned so each new version is shown to every user once.

Key ``notice``: hash with ``version`` (only ever grows), ``markdown`` and ``updated_at``. Clearing keeps the version,
so the next notice still counts as new for users who saw an older one. What a user has seen is kept per account
(``{u:ID}:notice_seen``), not per browser: an announcement read on the phone does not open again on the laptop.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from core.errors import InvalidInput
from core.site.audit import Actor, record_audit
from core.store.connection import Store

MARKDOWN_MAX_CHARS = 50_000


@dataclass(frozen=True)
class Notice:
    version: int
    markdown: str
    updated_at: float

    def public(self) -> dict[str, Any]:
        return asdict(self)


async def get_notice(store: Store) -> Notice | None:
    """Return the current announcement, or None when there is none."""
    data = await store.redis.hgetall(store.keys.notice())
    if not data or not data.get("markdown"):
        return None
    return Notice(int(data["version"]), str(data["markdown"]), float(data.get("updated_at", 0)))


async def notice_for(store: Store, user_id: int | str) -> tuple[Notice | None, bool]:
    """Return the current announcement and whether this user has seen its version (one round trip)."""
    async with store.redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(store.keys.notice())
        pipe.get(store.keys.notice_seen(user_id))
        data, seen = await pipe.execute()
    if not data or not data.get("markdown"):
        return None, False
    notice = Notice(int(data["version"]), str(data["markdown"]), float(data.get("updated_at", 0)))
    return notice, int(seen or 0) >= notice.version


async def mark_notice_seen(store: Store, user_id: int | str, version: int) -> None:
    """Remember that this user has seen `version` (never moves back: an older tab cannot reopen a newer one)."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInput("version must be a positive whole number.", field="version")
    await store.scripts.run("set_max", [store.keys.notice_seen(user_id)], [version])


async def set_notice(store: Store, markdown: str, now: float) -> Notice:
    """Publish an announcement as a new version."""
    text = markdown.strip()
    if not text:
        raise InvalidInput("The announcement is empty.", field="markdown")
    if len(text) > MARKDOWN_MAX_CHARS:
        raise InvalidInput(f"The announcement is longer than {MARKDOWN_MAX_CHARS} characters.", field="markdown")
    key = store.keys.notice()
    async with store.redis.pipeline(transaction=True) as pipe:
        pipe.hincrby(key, "version", 1)
        pipe.hset(key, mapping={"markdown": text, "updated_at": str(now)})
        version, _ = await pipe.execute()
    return Notice(int(version), text, now)


async def clear_notice(store: Store, now: float) -> None:
    """Withdraw the announcement (the version counter is kept)."""
    await store.redis.hset(store.keys.notice(), mapping={"markdown": "", "updated_at": str(now)})


async def publish_notice(store: Store, actor: Actor, markdown: str, now: float) -> Notice:
    """Publish an announcement from the dashboard (a new version: every user sees it once); audited."""
    before = await get_notice(store)
    notice = await set_notice(store, markdown, now)
    await record_audit(
        store, actor, "notice.publish", "notice", before.public() if before else None, notice.public(), now
    )
    return notice


async def withdraw_notice(store: Store, actor: Actor, now: float) -> None:
    """Take the announcement down (its version counter is kept); audited."""
    before = await get_notice(store)
    if before is None:
        return
    await clear_notice(store, now)
    await record_audit(store, actor, "notice.withdraw", "notice", before.public(), None, now)
