"""Screenshots of the chat's round-two states in both languages and both themes, at 1440x900 and 390x844:
rich answers (math, a diagram, a task list, a wide table), an edited question's versions, a cut answer, token
counts, the settings dialog, the export menu and share dialog, a used-up model, the loading skeleton, the shared
page, the 404 page and the account page (test-output/screenshots/gallery-*). Each screenshot also checks that
nothing sticks out sideways."""

# The fixtures come from chat_helpers (tests/browser/conftest.py is shared): using them as parameters is the point.
# ruff: noqa: F811

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

from core.billing.plans import get_plan
from core.billing.quotas import consume_quota
from core.chat.branches import edit_message
from core.chat.conversations import create_conversation
from core.chat.messages import Message, append_message, new_message
from tests.browser.chat_helpers import (  # noqa: F401  (fixtures are used by name)
    MODEL,
    ChatTab,
    ScriptedUpstream,
    chat_server,
    open_chat,
    slow_network,
    upstream,
)
from tests.browser.conftest import DESKTOP, PHONE, LiveServer

pytestmark = pytest.mark.browser

RICH = {
    "zh-CN": (
        "## 勾股定理\n\n直角三角形满足 $a^2 + b^2 = c^2$，于是\n\n$$c = \\sqrt{a^2 + b^2}$$\n\n"
        "```mermaid\nflowchart LR\n  A[量出两条直角边] --> B[平方相加]\n  B --> C[开平方]\n```\n\n"
        "- [x] 画出三角形\n- [ ] 验证结果\n\n"
        "| 边 a | 边 b | 斜边 c | 面积 | 周长 | 备注 |\n|---|---|---|---|---|---|\n"
        "| 3 | 4 | 5 | 6 | 12 | 最常见的勾股数 |\n| 5 | 12 | 13 | 30 | 30 | 也很常见 |\n"
    ),
    "en": (
        "## Pythagoras\n\nA right triangle has $a^2 + b^2 = c^2$, so\n\n$$c = \\sqrt{a^2 + b^2}$$\n\n"
        "```mermaid\nflowchart LR\n  A[Measure both legs] --> B[Square and add]\n  B --> C[Take the root]\n```\n\n"
        "- [x] Draw the triangle\n- [ ] Check the result\n\n"
        "| Leg a | Leg b | Hypotenuse | Area | Perimeter | Note |\n|---|---|---|---|---|---|\n"
        "| 3 | 4 | 5 | 6 | 12 | the classic triple |\n| 5 | 12 | 13 | 30 | 30 | also common |\n"
    ),
}
QUESTIONS = {
    "zh-CN": ("怎么算斜边？", "斜边怎么算？请举例"),
    "en": ("How do I get the hypotenuse?", "Hypotenuse, with an example?"),
}


def seed_chat(server: LiveServer, user_id: int, lang: str) -> str:
    """A chat with an edited question (two versions), a rich answer with its token count, and a cut answer."""

    async def seed(services: Any) -> str:
        store, now = services.store, time.time()
        conversation = await create_conversation(store, user_id, model=MODEL, channel="web", now=now)
        first, second = QUESTIONS[lang]
        question = new_message("user", first, now)
        await append_message(store, user_id, conversation.id, question)
        await append_message(store, user_id, conversation.id, new_message("assistant", "…", now, MODEL))
        await edit_message(store, user_id, conversation.id, question.id, new_message("user", second, now + 1))
        answer = Message("a1", "assistant", RICH[lang], now + 2, MODEL, tokens=182)
        await append_message(store, user_id, conversation.id, answer)
        await append_message(store, user_id, conversation.id, new_message("user", "…" * 3, now + 3))
        cut = Message("a2", "assistant", RICH[lang].split("```")[0] * 3, now + 4, MODEL, tokens=4096, truncated=True)
        await append_message(store, user_id, conversation.id, cut)
        return conversation.id

    return server.call(seed)


def use_up(server: LiveServer, user_id: int) -> None:
    async def take(services: Any) -> None:
        plan = await get_plan(services.store, "free")
        assert plan is not None
        for _ in range(plan.limits[MODEL].limit):
            await consume_quota(services.store, user_id, plan, MODEL, time.time())

    server.call(take)


# Each language and each theme at both widths (zh-CN light, English dark), which keeps the suite quick.
@pytest.mark.parametrize(("lang", "theme"), [("zh-CN", "light"), ("en", "dark")])
def test_gallery(
    open_chat: Any, upstream: ScriptedUpstream, chat_server: LiveServer, browser: Any, lang: str, theme: str
) -> None:
    tab: ChatTab = open_chat(lang, DESKTOP, theme)
    page = tab.page
    user = tab.sign_in(f"gallery-{lang.lower()}-{theme}@example.com")
    cid = seed_chat(chat_server, user.id, lang)
    use_up(chat_server, user.id)
    tab.open(f"?c={cid}")
    expect(page.frame_locator("iframe.diagram-frame").locator("svg")).to_be_visible()
    expect(page.locator(".msg-versions .msg-version")).to_have_text("2 / 2")
    expect(page.locator(".msg-truncated")).to_have_count(1)
    expect(page.locator("#composer-status")).to_be_visible()  # the model is used up
    page.locator(".msg-assistant").first.scroll_into_view_if_needed()
    page.mouse.move(0, 0)
    for viewport in (DESKTOP, PHONE):
        tab.viewport = viewport
        page.set_viewport_size(viewport)
        page.locator(".msg-assistant").first.scroll_into_view_if_needed()
        tab.shot("gallery-rich")
        page.locator("#thread").evaluate("(t) => { t.scrollTop = t.scrollHeight; }")
        tab.shot("gallery-cut-and-used-up")
        page.locator("#open-settings").click()
        tab.shot("gallery-settings")
        page.keyboard.press("Escape")
        page.locator("#export-button").click()
        tab.shot("gallery-export")
        page.get_by_role("menuitem", name=tab.t("chat.share")).click()
        if viewport is DESKTOP:
            page.get_by_role("button", name=tab.t("chat.share_create")).click()
        expect(page.locator("#share-url")).not_to_have_value("")
        tab.shot("gallery-share-dialog")
        page.keyboard.press("Escape")

    link = page.locator("#share-url").input_value()
    visitor_context = browser.new_context(locale="en-US" if lang == "en" else "zh-CN", color_scheme=theme)
    try:
        visitor = visitor_context.new_page()
        for path, name in ((link, "gallery-share-page"), (f"{chat_server.url}/no-such-page", "gallery-404")):
            visitor.set_viewport_size(DESKTOP)
            visitor.goto(path)
            if name == "gallery-share-page":
                expect(visitor.frame_locator("iframe.diagram-frame").locator("svg")).to_be_visible()
            for viewport in (DESKTOP, PHONE):  # one load, both widths
                visitor.set_viewport_size(viewport)
                visitor.screenshot(path=str(tab.shots / f"{name}-{lang}-{viewport['width']}-{theme}.png"))
    finally:
        visitor_context.close()

    page.goto(f"{chat_server.url}/account")
    expect(page.locator("#plan .quota-row.is-empty")).to_have_count(1)
    for viewport in (PHONE, DESKTOP):
        tab.viewport = viewport
        page.set_viewport_size(viewport)
        tab.shot("gallery-account")

    slow_network(tab, latency_ms=600)
    page.goto(f"{chat_server.url}/?c={cid}", wait_until="commit")
    expect(page.locator("#thread-skeleton")).to_be_visible()
    tab.shot("gallery-skeleton")
    expect(page.locator(".msg-user").first).to_be_visible(timeout=20_000)
