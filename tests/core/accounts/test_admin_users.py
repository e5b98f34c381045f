"""Users as the dashboard changes them: lists, one user's picture, block (sessions end at once), grant, reset
chances, sign out everywhere, and delete with every key it owned; each audited."""

from __future__ import annotations

import time

import pytest

from core.accounts import admin_users
from core.accounts.api_keys import create_api_key, resolve_api_key
from core.accounts.channel_identities import bind_identity
from core.accounts.registration import register_user
from core.accounts.sessions import create_session, list_sessions
from core.accounts.users import get_user
from core.billing.plans import Limit, Plan, save_plan
from core.billing.usage import record_usage
from core.chat.conversations import create_conversation
from core.errors import Forbidden, InvalidInput, NotFound
from core.settings import Settings
from core.site.audit import Actor, list_audit
from core.store.connection import Store

PASSWORD = "correct horse battery"
ADMIN = Actor(99, "root@example.com")


async def make_user(store: Store, settings: Settings, email: str, now: float | None = None) -> int:
    user = await register_user(store, settings, None, email=email, password=PASSWORD, now=now or time.time())
    return user.id


async def test_lists_newest_and_recently_active(store: Store, settings: Settings) -> None:
    now = time.time()
    old, mid, new = [await make_user(store, settings, f"u{i}@example.com", now - 100 + i * 10) for i in range(3)]
    await record_usage(store, old, "m", 1, 1, now)
    page = await admin_users.list_users_page(store, now=now, limit=2)
    assert [row.user.id for row in page.users] == [new, mid] and page.next_cursor == "2"
    rest = await admin_users.list_users_page(store, now=now, cursor=page.next_cursor, limit=2)
    assert [row.user.id for row in rest.users] == [old] and rest.next_cursor is None
    active = await admin_users.list_users_page(store, now=now, sort="active")
    assert [row.user.id for row in active.users] == [old] and active.users[0].last_active_at == int(now)
    found = await admin_users.list_users_page(store, query="u1@", now=now)
    assert [row.user.id for row in found.users] == [mid] and found.users[0].plan == "free"
    for bad in ({"sort": "name"}, {"cursor": "x"}, {"limit": 0}):
        with pytest.raises(InvalidInput):
            await admin_users.list_users_page(store, now=now, **bad)  # type: ignore[arg-type]


async def test_actions_are_applied_and_audited(store: Store, settings: Settings) -> None:
    now = time.time()
    uid = await make_user(store, settings, "target@example.com")
    await save_plan(store, Plan(name="pro", title="Pro", prices={"monthly": 2900}, limits={"m": Limit(9, "1h")}))
    await create_session(store, settings, "secret" * 8, uid, ip="1.2.3.4", agent="test", now=now)
    blocked = await admin_users.block_user(store, ADMIN, uid, True, now)
    assert blocked.blocked and await list_sessions(store, uid, now) == []
    await admin_users.block_user(store, ADMIN, uid, False, now)
    sub = await admin_users.grant_plan(store, ADMIN, uid, "pro", 7, now)
    assert sub.plan == "pro" and sub.ends_at - sub.starts_at == 7 * 86_400
    assert await admin_users.add_reset_chances(store, ADMIN, uid, 3, now) == 3
    await create_session(store, settings, "secret" * 8, uid, ip="1.2.3.4", agent="test", now=now)
    assert await admin_users.sign_out_everywhere(store, ADMIN, uid, now) == 1
    detail = (await admin_users.user_detail(store, uid, now)).public()
    assert detail["plan"]["name"] == "pro" and detail["user"]["reset_chances"] == 3
    assert [s["plan"] for s in detail["subscriptions"]] == ["pro"] and detail["sessions"] == []
    actions = [entry.action for entry in (await list_audit(store)).entries]
    assert actions == ["user.revoke_sessions", "user.reset_chances", "user.grant", "user.unblock", "user.block"]
    for call in (
        admin_users.grant_plan(store, ADMIN, uid, "pro", 0, now),
        admin_users.grant_plan(store, ADMIN, uid, "free", 7, now),
        admin_users.add_reset_chances(store, ADMIN, uid, -2, now),
    ):
        with pytest.raises(InvalidInput):
            await call
    with pytest.raises(NotFound):
        await admin_users.grant_plan(store, ADMIN, uid, "gold", 7, now)
    with pytest.raises(Forbidden):
        await admin_users.block_user(store, ADMIN, ADMIN.user_id, True, now)
    assert len((await list_audit(store)).entries) == 5  # refused actions wrote nothing


async def test_delete_removes_the_account_and_everything_it_owned(store: Store, settings: Settings) -> None:
    now = time.time()
    keeper = await make_user(store, settings, "keeper@example.com")
    uid = await make_user(store, settings, "gone@example.com")
    user = await get_user(store, uid)
    assert user is not None
    await save_plan(store, Plan(name="pro", title="Pro", prices={"monthly": 2900}, limits={"m": Limit(9, "1h")}))
    await admin_users.grant_plan(store, ADMIN, uid, "pro", 3, now)
    await create_session(store, settings, "secret" * 8, uid, ip="1.2.3.4", agent="test", now=now)
    await create_conversation(store, uid, model="m", channel="web", now=now)
    _, key = await create_api_key(store, uid, "laptop", now)
    await record_usage(store, uid, "m", 5, 5, now)
    await bind_identity(store, "telegram", "4242", uid, now=now)
    await admin_users.remove_user(store, ADMIN, uid, now)

    assert await get_user(store, uid) is None and await resolve_api_key(store, key) is None
    leftovers = [k async for k in store.redis.scan_iter(match=f"*{{u:{uid}}}*")]
    assert leftovers == []  # (a test may scan; the code never does)
    for global_key in (store.keys.email_index("gone@example.com"), store.keys.invite_index(user.invite_code),
                       store.keys.channel_identity("telegram", "4242")):  # fmt: skip
        assert not await store.redis.exists(global_key)
    assert await store.redis.zscore(store.keys.users_index(), str(uid)) is None
    assert await store.redis.zscore(store.keys.plan_users("pro"), str(uid)) is None
    assert (await admin_users.list_users_page(store, query="gone", now=now)).users == []
    assert await get_user(store, keeper) is not None
    [entry] = (await list_audit(store, action="user.delete")).entries
    assert entry.before["email"] == "gone@example.com" and entry.after is None
    with pytest.raises(Forbidden):
        await admin_users.remove_user(store, ADMIN, ADMIN.user_id, now)
