"""The audit log: entries with who, when, before and after; newest first; filtered by actor and action; paged."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.site.audit import Actor, list_audit, record_audit
from core.store.connection import Store

ALICE, BOB = Actor(1, "alice@example.com"), Actor(2, "bob@example.com")


async def test_an_entry_keeps_who_when_before_and_after(store: Store) -> None:
    entry = await record_audit(store, ALICE, "plan.update", "pro", {"title": "Pro"}, {"title": "Pro+"}, 1_700_000_000.5)
    page = await list_audit(store)
    assert page.entries == [entry] and page.next_cursor is None
    assert entry.public() == {
        "id": entry.id, "time": 1_700_000_000.5, "actor_id": 1, "actor": "alice@example.com",
        "action": "plan.update", "target": "pro", "before": {"title": "Pro"}, "after": {"title": "Pro+"},
    }  # fmt: skip


async def test_filters_and_pages(store: Store) -> None:
    for index in range(7):
        who = ALICE if index % 2 == 0 else BOB
        await record_audit(store, who, "user.block" if index < 5 else "plan.create", f"t{index}", None, index, index)
    newest_first = [entry.target for entry in (await list_audit(store)).entries]
    assert newest_first == ["t6", "t5", "t4", "t3", "t2", "t1", "t0"]
    assert [e.target for e in (await list_audit(store, actor_id=2)).entries] == ["t5", "t3", "t1"]
    assert [e.target for e in (await list_audit(store, action="plan.create")).entries] == ["t6", "t5"]
    both = await list_audit(store, actor_id=1, action="user.block")
    assert [e.target for e in both.entries] == ["t4", "t2", "t0"]
    first = await list_audit(store, limit=3)
    assert [e.target for e in first.entries] == ["t6", "t5", "t4"] and first.next_cursor == first.entries[-1].id
    second = await list_audit(store, limit=3, cursor=first.next_cursor)
    third = await list_audit(store, limit=3, cursor=second.next_cursor)
    assert [e.target for e in second.entries + third.entries] == ["t3", "t2", "t1", "t0"]
    assert third.next_cursor is None
    limited = await list_audit(store, actor_id=1, action="user.block", limit=2)
    rest = await list_audit(store, actor_id=1, action="user.block", limit=2, cursor=limited.next_cursor)
    assert [e.target for e in limited.entries + rest.entries] == ["t4", "t2", "t0"]


@pytest.mark.parametrize(
    "kwargs", [{"cursor": "nope"}, {"action": "DROP"}, {"actor_id": 0}, {"limit": 0}, {"limit": 500}]
)
async def test_bad_filters_are_refused(store: Store, kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        await list_audit(store, **kwargs)  # type: ignore[arg-type]
