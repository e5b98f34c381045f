"""More of the chat page in real Chromium: copy, export, rename, search, delete, presets, the announcement, the
errors that say what to do, the phone drawer and keyboard, and leaving a chat while it streams."""

# The fixtures come from chat_helpers (tests/browser/conftest.py is shared): using them as parameters is the point.
# ruff: noqa: F811

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from core.moderation import build_moderation
from core.moderation.keywords import set_words
from core.site.notice import set_notice
from tests.browser.chat_helpers import (  # noqa: F401  (fixtures are used by name)
    SLOW,
    ChatTab,
    ScriptedUpstream,
    chat_server,
    open_chat,
    upstream,
)
from tests.browser.conftest import DESKTOP, PHONE, LiveServer
from tests.fakes.openai_upstream import Behaviour, text_of

pytestmark = pytest.mark.browser


def test_copy_export_rename_search_and_delete(open_chat: Any, upstream: ScriptedUpstream) -> None:
    tab: ChatTab = open_chat("zh-CN", DESKTOP)
    page = tab.page
    tab.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=tab.server.url)
    tab.sign_in("organiser@example.com")
    upstream.answer = "第一条回答：**加粗**"
    tab.send("第一个问题")
    tab.wait_idle()
    page.locator(".msg-assistant").last.hover()
    page.locator('.msg-assistant [data-act="copy"]').click()
    expect(page.locator("#toast")).to_have_text(tab.t("common.copied"))
    assert page.evaluate("() => navigator.clipboard.readText()") == "第一条回答：**加粗**"

    page.locator("#export-button").click()
    with page.expect_download() as download:
        page.get_by_role("menuitem", name=tab.t("chat.export_md")).click()
    exported = open(download.value.path(), encoding="utf-8").read()  # noqa: SIM115
    assert "第一个问题" in exported and "第一条回答" in exported

    tab.page.locator("#new-chat").click()
    upstream.answer = "second"
    tab.send("Another topic")
    tab.wait_idle()
    expect(page.locator(".conv-title")).to_have_text(["Another topic", "第一个问题"])

    item = page.locator(".conv-item", has_text="第一个问题")
    item.hover()
    item.locator(".conv-more").click()
    page.get_by_role("menuitem", name=tab.t("chat.rename")).click()
    page.locator(".conv-rename").fill("重要的对话")
    page.locator(".conv-rename").press("Enter")
    expect(page.locator(".conv-title")).to_have_text(["Another topic", "重要的对话"])

    page.locator("#conv-search").fill("重要")
    expect(page.locator(".conv-title")).to_have_text(["重要的对话"])
    page.locator("#conv-search").fill("nothing like this")
    expect(page.locator("#conv-empty")).to_have_text(tab.t("chat.no_results"))
    page.locator("#conv-search").fill("")
    expect(page.locator(".conv-title")).to_have_count(2)

    current = page.locator(".conv-item.is-current")
    current.locator(".conv-more").click()
    page.get_by_role("menuitem", name=tab.t("common.delete")).click()
    expect(page.locator("#confirm-dialog")).to_be_visible()
    page.locator("#confirm-ok").click()
    expect(page.locator(".conv-title")).to_have_text(["重要的对话"])
    expect(page.locator("#empty-state")).to_be_visible()
    expect(page).to_have_url(f"{tab.server.url}/")


def test_presets_are_created_picked_sent_and_deleted(open_chat: Any, upstream: ScriptedUpstream) -> None:
    tab: ChatTab = open_chat("en", DESKTOP)
    page = tab.page
    tab.sign_in("prompter@example.com")
    page.locator("#preset-button").click()
    page.get_by_role("menuitem", name=tab.t("chat.presets_manage")).click()
    dialog = page.locator("#presets-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("#preset-save").click()
    expect(dialog.locator("#preset-name-error")).to_have_text(tab.t("validate.required"))
    dialog.locator("#preset-name").fill("Pirate")
    dialog.locator("#preset-prompt").fill("Answer like a pirate.")
    dialog.locator("#preset-save").click()
    expect(dialog.locator(".preset-name")).to_have_text(["Pirate"])
    tab.shot("chat-presets")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#preset-label")).to_have_text("Pirate")
    tab.send("Hello there")
    tab.wait_idle()
    assert upstream.last_messages()[0] == {"role": "system", "content": "Answer like a pirate."}

    page.reload()
    expect(page.locator("#preset-label")).to_have_text("Pirate")  # remembered on this device
    page.locator("#preset-button").click()
    page.get_by_role("menuitemradio", name=tab.t("chat.preset_none")).click()
    expect(page.locator("#preset-label")).to_have_text(tab.t("chat.preset_none"))
    page.locator("#user-menu-button").click()
    page.get_by_role("menuitem", name=tab.t("chat.presets")).click()
    dialog.get_by_role("button", name=tab.t("chat.preset_delete", name="Pirate")).click()
    expect(dialog.locator(".preset-empty")).to_have_text(tab.t("chat.presets_empty"))


def test_announcement_opens_once_per_version_and_stays_in_the_menu(open_chat: Any, chat_server: LiveServer) -> None:
    chat_server.call(lambda s: set_notice(s.store, "# Maintenance\n\nWe **upgrade** tonight.", time.time()))
    tab: ChatTab = open_chat("en", PHONE)
    page = tab.page
    tab.sign_in("reader@example.com")
    dialog = page.locator("#notice-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h1")).to_have_text("Maintenance")
    expect(dialog.locator("strong")).to_have_text("upgrade")
    tab.shot("chat-notice")
    with page.expect_response(lambda response: response.url.endswith("/api/notice/seen")) as seen:
        page.keyboard.press("Escape")
    assert seen.value.ok
    expect(dialog).to_be_hidden()
    page.reload()
    expect(page.locator("body.is-ready")).to_have_count(1)
    page.wait_for_timeout(300)
    expect(dialog).to_be_hidden()
    laptop: ChatTab = open_chat("en", DESKTOP)  # the same account on another device: already seen there too
    laptop.log_in("reader@example.com")
    expect(laptop.page.locator("body.is-ready")).to_have_count(1)
    laptop.page.wait_for_timeout(300)
    expect(laptop.page.locator("#notice-dialog")).to_be_hidden()

    page.locator("#drawer-open").click()
    page.locator("#user-menu-button").click()
    page.get_by_role("menuitem", name=tab.t("chat.notice")).click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=tab.t("chat.notice_ok")).click()
    expect(dialog).to_be_hidden()

    chat_server.call(lambda s: set_notice(s.store, "Version two", time.time()))
    page.reload()
    expect(dialog).to_contain_text("Version two")


def test_errors_say_what_to_do(open_chat: Any, upstream: ScriptedUpstream, chat_server: LiveServer) -> None:
    tab: ChatTab = open_chat("en", DESKTOP)
    page = tab.page
    tab.sign_in("unlucky@example.com")
    card = page.locator(".alert-card")

    services = chat_server.services
    assert services is not None
    original = services.moderation
    keywords = services.settings.model_copy(update={"TEXT_SECURITY": ["keywords"]})
    chat_server.call(lambda s: set_words(s.store, ["forbidden"]))
    services.moderation = build_moderation(keywords, services.store, services.http, services.clock)
    try:
        tab.send("this is forbidden talk")
        expect(card.locator(".alert-title")).to_have_text(tab.t("chat.err.blocked_title"))
        expect(tab.composer).to_have_value("this is forbidden talk")
    finally:
        services.moderation = original

    upstream.behaviour = Behaviour(status=503)
    tab.send("are you there?")
    expect(card.locator(".alert-title")).to_have_text(tab.t("chat.err.down_title"), timeout=15_000)
    expect(card.locator(".alert-text")).to_contain_text("pick another model")
    tab.shot("chat-error")
    upstream.behaviour = Behaviour(chunks=4)
    card.get_by_role("button", name=tab.t("common.retry")).click()
    tab.wait_idle()
    expect(tab.questions).to_have_text(["are you there?"])
    expect(tab.answers).to_have_text([text_of(4).strip()])
    expect(card).to_have_count(0)

    tab.context.clear_cookies()
    tab.composer.fill("still there?")
    tab.composer.press("Enter")
    expect(card.locator(".alert-title")).to_have_text(tab.t("chat.err.signed_out_title"))
    sign_in = card.get_by_role("link", name=tab.t("nav.sign_in"))
    expect(sign_in).to_have_attribute("href", re.compile(r"^/login\?next=%2F"))


def test_drawer_and_keyboard_on_a_phone(open_chat: Any, upstream: ScriptedUpstream) -> None:
    tab: ChatTab = open_chat("zh-CN", PHONE)
    page = tab.page
    tab.sign_in("thumbs@example.com")
    tab.send("手机上的问题")
    tab.wait_idle()
    sidebar = page.locator("#sidebar")
    expect(sidebar).not_to_be_in_viewport()
    toggle = page.locator("#drawer-open")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(sidebar).to_be_in_viewport()
    expect(page.locator("#new-chat")).to_be_focused()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    expect(sidebar).not_to_be_in_viewport()
    expect(toggle).to_be_focused()

    page.locator("#model-button").click()
    expect(page.get_by_role("option")).to_have_count(3)
    expect(page.get_by_role("option", disabled=True)).to_have_text([re.compile("o1 pro")])  # not in the plan
    expect(page.locator(".model-option.is-locked")).to_contain_text(tab.t("chat.quota_not_in_plan"))
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#model-name")).to_have_text("GPT-4o")
    expect(page.locator("#model-quota")).to_have_text("10/10")
    page.locator("#header-new").click()
    expect(page.locator("#empty-state")).to_be_visible()
    expect(tab.composer).to_be_focused()

    tab.viewport = {"width": 360, "height": 740}  # the narrowest supported width: nothing may stick out
    page.set_viewport_size({"width": 360, "height": 740})
    tab.shot("chat-empty")
    page.get_by_role("button", name=tab.t("chat.open_list")).click()
    page.get_by_role("link", name="手机上的问题").click()
    expect(page.locator("#sidebar")).not_to_be_in_viewport()
    expect(tab.questions).to_have_text(["手机上的问题"])
    tab.shot("chat")


def test_opening_another_chat_mid_stream_stops_the_answer(open_chat: Any, upstream: ScriptedUpstream) -> None:
    tab: ChatTab = open_chat("en", DESKTOP)
    page = tab.page
    tab.sign_in("restless@example.com")
    tab.send("First chat")
    tab.wait_idle()
    page.locator("#new-chat").click()
    upstream.behaviour = SLOW
    tab.send("Second chat, slowly")
    expect(tab.answers.last).to_contain_text("word3")
    page.get_by_role("link", name="First chat").click()
    expect(tab.questions).to_have_text(["First chat"])
    expect(tab.answers).to_have_text([text_of(8).strip()])
    expect(page.locator("#stop-button")).to_be_hidden()
    expect(page.locator(".alert-card")).to_have_count(0)
    second = page.get_by_role("link", name="Second chat, slowly")
    cid = (second.get_attribute("href") or "").split("c=")[1]
    deadline = time.monotonic() + 5  # the server saves what was delivered once it has closed the upstream
    while time.monotonic() < deadline:
        saved = page.request.get(f"{tab.server.url}/api/conversations/{cid}").json()["messages"]
        if [m["role"] for m in saved] == ["user", "assistant"]:
            break
        time.sleep(0.05)
    second.click()
    expect(tab.questions).to_have_text(["Second chat, slowly"])
    expect(tab.answers.last).to_contain_text("word3")  # what was delivered before leaving is kept
    assert "word39" not in tab.answers.last.inner_text()
