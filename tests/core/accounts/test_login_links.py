"""One-time sign-in links: single use (also under a race), 10 minutes, never for a blocked account."""

from __future__ import annotations

import asyncio

import pytest

from core.accounts.login_links import LOGIN_LINK_PATH, LOGIN_LINK_SECONDS, consume_login_link, issue_login_link
from core.accounts.users import set_blocked
from core.settings import Settings
from core.store.connection import Store
from tests.chat_support import new_user


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings with the site's public address: a link handed out in a chat must be absolute."""
    return settings.model_copy(update={"DOMAIN": "https://chat.example"})


def token_of(url: str) -> str:
    return url.rsplit(LOGIN_LINK_PATH, 1)[1]


async def test_a_link_signs_in_once(store: Store, settings: Settings) -> None:
    user = await new_user(store, settings)
    url = await issue_login_link(store, settings, user.id, "/pricing")
    assert url.startswith(f"{settings.DOMAIN}{LOGIN_LINK_PATH}")
    token = token_of(url)
    results = await asyncio.gather(*(consume_login_link(store, token) for _ in range(10)))
    used = [result for result in results if result is not None]
    assert len(used) == 1 and used[0].user.id == user.id and used[0].next_path == "/pricing"
    assert await consume_login_link(store, token) is None
    keys = [key async for key in store.redis.scan_iter(match="*login:link*")]
    assert not keys  # used up: nothing left behind


async def test_the_store_keeps_only_a_digest_that_expires(store: Store, settings: Settings) -> None:
    user = await new_user(store, settings)
    token = token_of(await issue_login_link(store, settings, user.id, "//evil.example/"))
    keys = [key async for key in store.redis.scan_iter(match="*login:link*")]
    assert len(keys) == 1 and token not in keys[0]
    assert 0 < await store.redis.ttl(keys[0]) <= LOGIN_LINK_SECONDS
    link = await consume_login_link(store, token)
    assert link is not None and link.next_path.startswith("/")  # the web app still applies safe_next


async def test_unknown_long_and_blocked_links_sign_nobody_in(store: Store, settings: Settings) -> None:
    user = await new_user(store, settings)
    assert await consume_login_link(store, "nope") is None
    assert await consume_login_link(store, "x" * 500) is None
    assert await consume_login_link(store, "") is None
    token = token_of(await issue_login_link(store, settings, user.id))
    await set_blocked(store, user.id, True)
    assert await consume_login_link(store, token) is None


async def test_without_domain_no_link_is_made(store: Store, settings: Settings) -> None:
    user = await new_user(store, settings)
    with pytest.raises(ValueError, match="DOMAIN"):
        await issue_login_link(store, settings.model_copy(update={"DOMAIN": ""}), user.id)
