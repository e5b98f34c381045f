"""The audit log: every change made through the dashboard, with who made it, when, and the value before and after.

Entries live in the ``{audit}:log`` stream (never trimmed: an operator's history is kept) and, under the same ids,
in one stream per actor and one per action, so a filtered page reads only matching entries. One script appends all
three atomically (core.store.lua.site AUDIT_APPEND). Before/after are JSON values; callers pass what a browser may
see (upstream keys masked, never a secret). A page is newest first; its cursor is the id of its last entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from core.errors import InvalidInput
from core.store.connection import Store

MAX_PAGE = 200
FILTERED_BATCH = 200  # entries read per step when both filters are given (one is read, the other checked)
FILTERED_STEPS = 10
STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
ACTION = re.compile(r"^[a-z_]{1,32}\.[a-z_]{1,32}$")


@dataclass(frozen=True)
class Actor:
    """Who makes a change: an administrator's id and how to show them (email, phone or name)."""

    user_id: int
    label: str


@dataclass(frozen=True)
class AuditEntry:
    id: str
    time: float
    actor_id: int
    actor: str
    action: str
    target: str
    before: Any
    after: Any

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id, "time": self.time, "actor_id": self.actor_id, "actor": self.actor,
            "action": self.action, "target": self.target, "before": self.before, "after": self.after,
        }  # fmt: skip


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_cursor: str | None


async def record_audit(
    store: Store, actor: Actor, action: str, target: str, before: Any, after: Any, now: float
) -> AuditEntry:
    """Append one entry; `action` is `<area>.<verb>` (e.g. plan.update), `target` what it was done to."""
    if not ACTION.match(action):
        raise ValueError(f"not an audit action name: {action!r}")
    fields = {
        "time": f"{now:.3f}",
        "actor_id": str(actor.user_id),
        "actor": actor.label,
        "action": action,
        "target": target,
        "before": orjson.dumps(before).decode(),
        "after": orjson.dumps(after).decode(),
    }
    keys = [store.keys.audit_log(), store.keys.audit_by_actor(actor.user_id), store.keys.audit_by_action(action)]
    args = [item for pair in fields.items() for item in pair]
    entry_id = str(await store.scripts.run("audit_append", keys, args))
    return AuditEntry(entry_id, now, actor.user_id, actor.label, action, target, before, after)


def _entry(entry_id: str, fields: dict[str, str]) -> AuditEntry:
    return AuditEntry(
        id=str(entry_id),
        time=float(fields.get("time") or 0),
        actor_id=int(fields.get("actor_id") or 0),
        actor=fields.get("actor", ""),
        action=fields.get("action", ""),
        target=fields.get("target", ""),
        before=orjson.loads(fields.get("before") or "null"),
        after=orjson.loads(fields.get("after") or "null"),
    )


async def _read(store: Store, key: str, cursor: str | None, count: int) -> list[AuditEntry]:
    upper = f"({cursor}" if cursor else "+"
    rows: list[tuple[str, dict[str, str]]] = await store.redis.xrevrange(key, upper, "-", count=count)  # type: ignore[assignment]
    return [_entry(entry_id, fields) for entry_id, fields in rows]


def _check_filters(actor_id: int | None, action: str | None, cursor: str | None, limit: int) -> None:
    if cursor and not STREAM_ID.match(cursor):
        raise InvalidInput("The cursor is not valid.", field="cursor")
    if action and not ACTION.match(action):
        raise InvalidInput("An action looks like plan.update.", field="action")
    if actor_id is not None and actor_id < 1:
        raise InvalidInput("actor must be a user id.", field="actor")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be from 1 to {MAX_PAGE}.", field="limit")


async def list_audit(
    store: Store,
    *,
    actor_id: int | None = None,
    action: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> AuditPage:
    """Return a page of entries, newest first, optionally of one actor and/or one action."""
    _check_filters(actor_id, action, cursor, limit)
    if action:
        key = store.keys.audit_by_action(action)
    elif actor_id is not None:
        key = store.keys.audit_by_actor(actor_id)
    else:
        key = store.keys.audit_log()
    if not (action and actor_id is not None):
        entries = await _read(store, key, cursor, limit + 1)
        more = len(entries) > limit
        entries = entries[:limit]
        return AuditPage(entries, entries[-1].id if more else None)
    return await _both(store, key, actor_id, cursor, limit)


async def _both(store: Store, key: str, actor_id: int, cursor: str | None, limit: int) -> AuditPage:
    """Read the action's stream in batches and keep the actor's entries (bounded work per page)."""
    found: list[AuditEntry] = []
    for _ in range(FILTERED_STEPS):
        batch = await _read(store, key, cursor, FILTERED_BATCH)
        for entry in batch:
            cursor = entry.id
            if entry.actor_id == actor_id:
                found.append(entry)
                if len(found) == limit:
                    return AuditPage(found, entry.id)
        if len(batch) < FILTERED_BATCH:
            return AuditPage(found, None)
    return AuditPage(found, cursor)  # more may match further back: the next page goes on from here
