from __future__ import annotations
from typing import Any
import pytest
from playwright.sync_api import expect
from tests.browser.chat_helpers import ChatTab, chat_server, open_chat, upstream  # noqa: F401
from tests.browser.conftest import DESKTOP, PHONE

pytestmark = pytest.mark.browser

def test_smoke(open_chat: Any, upstream: Any) -> None:
    tab: ChatTab = open_chat("zh-CN", DESKTOP)
    page = tab.page
    tab.sign_in("smoke@example.com")
    page.request.post(f"{tab.server.url}/api/presets", data={"name": "英文润色", "prompt": "你是英文编辑"}, headers={"X-CSRF-Token": page.locator('meta[name=csrf-token]').get_attribute("content")})
    page.reload()
    tab.send("你好")
    tab.wait_idle()
    page.locator("#preset-button").click()
    page.screenshot(path="/tmp/scratch/presetmenu.png")
    page.keyboard.press("Escape")
    item = page.locator(".conv-item").first
    item.locator(".conv-more").click()
    page.screenshot(path="/tmp/scratch/convmenu.png")
