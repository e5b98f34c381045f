"""Site settings in the store: defaults from the environment, audited changes seen by every process, registration
modes, and the settings they override for the rest of the code (invitation rewards, order expiry)."""

from __future__ import annotations

import asyncio
import time

import pytest

from core.accounts.registration import create_admin, register_user
from core.errors import InvalidInput, InviteRequired, RegistrationClosed
from core.settings import Settings
from core.site.audit import Actor, list_audit
from core.site.config import runtime_settings, secret_status, site_config, update_site_config
from core.store.config_cache import CONFIG_CACHE_SECONDS
from core.store.connection import Store, connect

ADMIN = Actor(1, "root@example.com")
PASSWORD = "correct horse battery"


async def test_defaults_come_from_the_environment(store: Store, settings: Settings) -> None:
    site = await site_config(store, settings)
    assert (site.title, site.registration, site.default_language) == (settings.NEXT_PUBLIC_TITLE, "open", "zh-CN")
    assert site.order_expire_minutes == settings.ORDER_EXPIRE_SECONDS // 60
    assert await runtime_settings(store, settings) is settings  # nothing changed: the same object


async def test_a_change_is_audited_and_reaches_another_process(
    store: Store, settings: Settings, store_url: str
) -> None:
    other = connect(store_url)
    try:
        assert (await site_config(other, settings)).title == "ChatGate"
        changed = await update_site_config(
            store, settings, ADMIN, {"title": "小助手", "invite_bonus_days": 3, "order_expire_minutes": 30}, time.time()
        )
        assert changed.title == "小助手" and (await site_config(store, settings)).title == "小助手"  # this one: at once
        await asyncio.sleep(CONFIG_CACHE_SECONDS + 0.05)
        assert (await site_config(other, settings)).title == "小助手"  # another process: within a second
    finally:
        await other.close()
    applied = await runtime_settings(store, settings)
    assert (applied.NEXT_PUBLIC_TITLE, applied.INVITE_BONUS_DAYS, applied.ORDER_EXPIRE_SECONDS) == ("小助手", 3, 1800)
    [entry] = (await list_audit(store, action="settings.update")).entries
    assert entry.before == {"invite_bonus_days": 0, "order_expire_minutes": 120, "title": "ChatGate"}
    assert entry.after == {"invite_bonus_days": 3, "order_expire_minutes": 30, "title": "小助手"}


@pytest.mark.parametrize(
    "changes",
    [{"title": ""}, {"registration": "sometimes"}, {"default_language": "fr"}, {"invite_reset_chances": -1},
     {"order_expire_minutes": 0}, {"invite_commission_percent": 101}, {"colour": "red"}, {"title": 5}],
)  # fmt: skip
async def test_bad_input_changes_nothing(store: Store, settings: Settings, changes: dict[str, object]) -> None:
    await update_site_config(store, settings, ADMIN, {"title": "Kept"}, time.time())
    with pytest.raises(InvalidInput):
        await update_site_config(store, settings, ADMIN, {"wechat_oa": "x", **changes}, time.time())
    site = await site_config(store, settings)
    assert site.title == "Kept" and site.wechat_oa == ""
    assert len((await list_audit(store)).entries) == 1


async def test_registration_modes(store: Store, settings: Settings) -> None:
    inviter = await register_user(store, settings, None, email="a@example.com", password=PASSWORD, now=time.time())
    await update_site_config(store, settings, ADMIN, {"registration": "invite"}, time.time())
    with pytest.raises(InviteRequired):
        await register_user(store, settings, None, email="b@example.com", password=PASSWORD, now=time.time())
    invited = await register_user(store, settings, None, email="b@example.com", password=PASSWORD,
                                  invite_code=inviter.invite_code, now=time.time())  # fmt: skip
    assert invited.inviter_id == inviter.id
    await update_site_config(store, settings, ADMIN, {"registration": "closed"}, time.time())
    with pytest.raises(RegistrationClosed):
        await register_user(store, settings, None, email="c@example.com", password=PASSWORD,
                            invite_code=inviter.invite_code, now=time.time())  # fmt: skip
    admin = await create_admin(store, settings, email="ops@example.com", password=PASSWORD, now=time.time())
    assert admin.is_admin  # operators make their own accounts whatever the mode


def test_secrets_are_named_never_shown(settings: Settings) -> None:
    configured = settings.model_copy(update={"OPENAI_API_KEY": settings.JWT_SECRET.__class__("sk-very-secret")})
    status = {item["name"]: item["set"] for item in secret_status(configured)}
    assert status["OPENAI_API_KEY"] is True and status["SMTP_PASSWORD"] is False and status["JWT_SECRET"] is True
    assert "sk-very-secret" not in repr(secret_status(configured))
