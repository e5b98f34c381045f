"""Rendering, exporting and sharing in real Chromium: math (KaTeX) and diagrams (Mermaid in a sandboxed frame)
fetched only when an answer needs them, task lists, wide tables on a phone, Markdown / JSON / PNG export, read-only
share links, search over message text, token counts, written titles, the theme toggle and voice input."""

# The fixtures come from chat_helpers (tests/browser/conftest.py is shared): using them as parameters is the point.
# ruff: noqa: F811

from __future__ import annotations

import json
import re
import struct
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.chat_helpers import (  # noqa: F401  (fixtures are used by name)
    ChatTab,
    ScriptedUpstream,
    changed_settings,
    chat_server,
    open_chat,
    upstream,
)
from tests.browser.conftest import DESKTOP, PHONE, LiveServer
from tests.fakes.openai_upstream import Behaviour

pytestmark = pytest.mark.browser

RICH = (
    "Einstein: $E = mc^2$, and it costs $5 and $10 to print.\n\n"
    "$$\\int_0^1 x^2\\,dx = \\frac{1}{3}$$\n\n"
    "Pythagoras \\(a^2 + b^2 = c^2\\) and a display \\[\\sqrt{2} \\approx 1.414\\]\n\n"
    "$$\\begin{aligned} a &= b \\\\ c &= d \\end{aligned}$$\n\n"
    "- [x] Write the proof\n- [ ] Check it\n\n"
    "```mermaid\nflowchart LR\n  A[Start] --> B{Works?}\n  B -- yes --> C[Ship]\n```\n\n"
    "| 城市 | 人口 | 面积 | 气候 | 美食 | 交通 | 景点 | 方言 |\n|---|---|---|---|---|---|---|---|\n"
    "| 上海 | 两千四百万 | 六千三百平方公里 | 亚热带季风气候 | 小笼包和生煎 | 地铁发达 | 外滩和豫园 | 上海话 |\n"
)
MATH_REQUESTS = re.compile(r"/vendor/katex/")
DIAGRAM_SCRIPT = re.compile(r"/vendor/mermaid/mermaid\.min\.js")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def test_math_task_lists_diagrams_and_wide_tables_render_and_load_lazily(
    open_chat: Any, upstream: ScriptedUpstream
) -> None:
    tab: ChatTab = open_chat("en", DESKTOP)
    page = tab.page
    fetched: list[tuple[str, bool]] = []
    page.on("request", lambda r: fetched.append((r.url, r.frame == page.main_frame)))
    tab.sign_in("mathematician@example.com")
    tab.send("Plain words first")
    tab.wait_idle()
    assert not any(MATH_REQUESTS.search(url) or DIAGRAM_SCRIPT.search(url) for url, _ in fetched)  # not on first load
    assert page.evaluate("() => typeof window.katex") == "undefined"

    upstream.answer = RICH
    upstream.behaviour = Behaviour(chunks=12, chunk_delay=0.02)
    tab.send("Show me everything")
    tab.wait_idle()
    answer = tab.answers.last
    for round_ in range(2):  # as streamed, then as loaded from the history
        if round_:
            page.reload()
            answer = tab.answers.last
        expect(answer.locator(".katex")).to_have_count(5)
        expect(answer.locator(".math-display .katex-display")).to_have_count(3)
        sources = answer.locator(".katex annotation").evaluate_all("(nodes) => nodes.map((n) => n.textContent)")
        assert "E = mc^2" in sources and "\\int_0^1 x^2\\,dx = \\frac{1}{3}" in sources
        assert any("a &= b \\\\ c &= d" in source for source in sources)  # backslashes kept as written
        expect(answer).to_contain_text("it costs $5 and $10 to print")  # money is not math
        boxes = answer.locator("li.task-item > input[type=checkbox]")
        expect(boxes).to_have_count(2)
        expect(boxes.first).to_be_checked()
        expect(boxes.first).to_be_disabled()
        frame = answer.locator("iframe.diagram-frame")
        expect(frame).to_have_attribute("sandbox", "allow-scripts")
        expect(frame).not_to_have_attribute("aria-busy", "true")
        expect(page.frame_locator("iframe.diagram-frame").locator("svg")).to_be_visible()
        assert frame.bounding_box()["height"] > 60  # type: ignore[index]
    assert any(MATH_REQUESTS.search(url) and main for url, main in fetched)
    assert [main for url, main in fetched if DIAGRAM_SCRIPT.search(url)] and not any(
        main for url, main in fetched if DIAGRAM_SCRIPT.search(url)
    )  # Mermaid runs in the frame only
    assert page.evaluate("() => typeof window.mermaid") == "undefined"
    answer.locator(".diagram-block").get_by_role("button", name=tab.t("chat.diagram_code")).click()
    expect(answer.locator(".diagram-code")).to_contain_text("flowchart LR")
    tab.shot("round2-rich")

    tab.viewport = PHONE
    page.set_viewport_size(PHONE)
    wrap = answer.locator(".table-wrap")
    wrap.scroll_into_view_if_needed()
    sizes = wrap.evaluate("(w) => [w.scrollWidth, w.clientWidth]")
    assert sizes[0] > sizes[1], f"the wide table does not scroll sideways: {sizes}"
    widths = answer.locator(".table-wrap td").evaluate_all(
        "(cells) => cells.map((c) => c.getBoundingClientRect().width)"
    )
    assert min(widths) >= 70, f"a column was squeezed: {widths}"
    tab.shot("round2-rich")


def test_export_as_markdown_json_and_png_and_a_revocable_share_link(
    open_chat: Any, upstream: ScriptedUpstream, chat_server: LiveServer, browser: Any
) -> None:
    tab: ChatTab = open_chat("zh-CN", DESKTOP)
    page = tab.page
    tab.sign_in("exporter@example.com")
    upstream.answer = "回答里有**加粗**和公式 $x^2$。\n\n```mermaid\nflowchart LR\n  A --> B\n```\n"
    tab.send("导出测试")
    tab.wait_idle()
    expect(page.frame_locator("iframe.diagram-frame").locator("svg")).to_be_visible()
    downloads = {}
    for key in ("chat.export_md", "chat.export_json", "chat.export_png"):
        page.locator("#export-button").click()
        if key == "chat.export_md":
            tab.shot("round2-export-menu")
        with page.expect_download() as download:
            page.get_by_role("menuitem", name=tab.t(key)).click()
        downloads[key] = open(download.value.path(), "rb").read()  # noqa: SIM115
        assert download.value.suggested_filename.startswith("导出测试")
    assert "导出测试" in downloads["chat.export_md"].decode() and "**加粗**" in downloads["chat.export_md"].decode()
    data = json.loads(downloads["chat.export_json"])
    assert [m["role"] for m in data["messages"]] == ["user", "assistant"]
    width, height = png_size(downloads["chat.export_png"])
    assert width >= 760 and height > 200

    page.locator("#export-button").click()
    page.get_by_role("menuitem", name=tab.t("chat.share")).click()
    dialog = page.locator("#share-dialog")
    expect(dialog).to_contain_text(tab.t("chat.share_intro"))
    dialog.get_by_role("button", name=tab.t("chat.share_create")).click()
    url = page.locator("#share-url")
    expect(url).to_have_value(re.compile(r"/s/[\w-]{16,}$"))
    tab.shot("round2-share-dialog")
    link = url.input_value()

    visitor_context = browser.new_context(locale="en-US", viewport=PHONE)
    visitor = visitor_context.new_page()
    try:
        response = visitor.goto(link)
        assert response is not None and response.headers["x-robots-tag"].startswith("noindex")
        expect(visitor.locator('meta[name="robots"]')).to_have_attribute("content", re.compile("^noindex"))
        expect(visitor.locator("h1")).to_have_text("导出测试")
        expect(visitor.locator(".msg-assistant strong")).to_have_text("加粗")
        expect(visitor.locator(".msg-assistant .katex")).to_have_count(1)
        assert "exporter@example.com" not in visitor.content()
        visitor.screenshot(path=str(tab.shots / "round2-share-page-en-390-light.png"))
        dialog.get_by_role("button", name=tab.t("chat.share_revoke")).click()
        expect(dialog.locator("#share-off")).to_be_visible()
        gone = visitor.goto(link)
        assert gone is not None and gone.status == 404
        expect(visitor.locator("h1")).to_have_text("This page does not exist")
        visitor.get_by_role("link", name="Back to the home page").click()
        expect(visitor).to_have_url(re.compile("/login$"))
    finally:
        visitor_context.close()


def test_search_token_counts_and_a_written_title(
    open_chat: Any, upstream: ScriptedUpstream, chat_server: LiveServer
) -> None:
    tab: ChatTab = open_chat("en", DESKTOP)
    page = tab.page
    with changed_settings(chat_server, AUTO_TITLES=True):
        tab.sign_in("titled@example.com")
        upstream.script = [Behaviour(chunks=8), Behaviour(pieces=("Bread", " basics."))]
        tab.send("how do i bake bread at home with only flour, water and salt?")
        tab.wait_idle()
        expect(page.locator(".conv-item.is-current .conv-title")).to_have_text("Bread basics")
        expect(page.locator("#model-quota")).to_have_text("49/50")  # the title was free
        title_prompt = upstream.chat_requests[-1].body["messages"]
        assert title_prompt[0]["role"] == "system" and "bake bread" in title_prompt[1]["content"]
        calls = len(upstream.chat_requests)
        tab.send("and rye?")
        tab.wait_idle()
        assert len(upstream.chat_requests) == calls + 1  # one title per chat
    expect(page.locator(".msg-assistant .msg-tokens")).to_have_text(["8 tokens", "8 tokens"])
    page.reload()
    expect(page.locator(".msg-assistant .msg-tokens").first).to_have_text("8 tokens")

    page.locator("#new-chat").click()
    upstream.answer = "Sourdough needs a starter that bubbles."
    tab.send("Tell me something")
    tab.wait_idle()
    search = page.locator("#conv-search")
    search.fill("STARTER")  # in an answer only
    expect(page.locator(".conv-title")).to_have_text(["Tell me something"])
    expect(page.locator(".conv-snippet mark")).to_have_text("starter")
    tab.shot("round2-search")
    search.fill("bread basics")
    expect(page.locator(".conv-title")).to_have_text(["Bread basics"])


def test_a_written_title_survives_a_conversation_list_that_answers_late(
    open_chat: Any, upstream: ScriptedUpstream, chat_server: LiveServer
) -> None:
    """The list asked for when an answer ends is read before the title is written; answering after the title, it
    must not put the first words back (a busy server made this happen)."""
    tab: ChatTab = open_chat("en", DESKTOP)
    page = tab.page

    def late(route: Any) -> None:
        answer = route.fetch()  # the server's list now, then held while the title is written and shown
        page.wait_for_timeout(800)
        route.fulfill(response=answer)

    with changed_settings(chat_server, AUTO_TITLES=True):
        tab.sign_in("late-list@example.com")
        page.route(re.compile(r".*/api/conversations(\?.*)?$"), late)
        upstream.script = [Behaviour(chunks=3), Behaviour(pieces=("Rye", " loaves."))]
        tab.send("what about rye bread?")
        tab.wait_idle()
        expect(page.locator(".conv-item.is-current .conv-title")).to_have_text("Rye loaves", timeout=10_000)
        page.wait_for_timeout(2_000)  # every list still in flight has answered by now
        expect(page.locator(".conv-item.is-current .conv-title")).to_have_text("Rye loaves")


def test_the_theme_follows_the_account_and_voice_input_fills_the_box(
    open_chat: Any, upstream: ScriptedUpstream
) -> None:
    tab: ChatTab = open_chat("zh-CN", DESKTOP)
    page = tab.page
    tab.context.add_init_script("""
      window.webkitSpeechRecognition = class extends EventTarget {
        start() { setTimeout(() => {
          const result = Object.assign([{ transcript: "你好，语音输入" }], { isFinal: true });
          this.dispatchEvent(Object.assign(new Event("result"), { resultIndex: 0, results: [result] }));
          this.dispatchEvent(new Event("end"));
        }, 50); }
        stop() { this.dispatchEvent(new Event("end")); }
      };
      window.SpeechRecognition = window.webkitSpeechRecognition;""")
    tab.sign_in("night@example.com")
    page.locator("#voice-button").click()
    expect(tab.composer).to_have_value("你好，语音输入")
    expect(page.locator("#voice-button")).to_have_attribute("aria-pressed", "false")

    background = "() => getComputedStyle(document.querySelector('.chat-pane')).backgroundColor"
    page.locator("#user-menu-button").click()
    with page.expect_response(lambda response: response.url.endswith("/api/preferences")):
        page.get_by_role("menuitemradio", name=tab.t("chat.theme.dark")).click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert sum(map(int, re.findall(r"\d+", page.evaluate(background))[:3])) < 150
    tab.theme = "dark"
    tab.shot("round2-theme-menu")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")  # kept on the server

    other: ChatTab = open_chat("zh-CN", PHONE, "light")  # another device, its system light: the account says dark
    other.context.add_init_script("delete window.SpeechRecognition; delete window.webkitSpeechRecognition;")
    other.log_in("night@example.com")
    expect(other.page.locator("html")).to_have_attribute("data-theme", "dark")
    assert sum(map(int, re.findall(r"\d+", other.page.evaluate(background))[:3])) < 150
    expect(other.page.locator("#voice-button")).to_be_hidden()  # no speech recognition: no button
    other.page.locator("#drawer-open").click()
    other.page.locator("#user-menu-button").click()
    other.page.get_by_role("menuitemradio", name=tab.t("chat.theme.system")).click()
    expect(other.page.locator("html")).to_have_attribute("data-theme", "system")
    other.page.keyboard.press("Escape")
    assert sum(map(int, re.findall(r"\d+", other.page.evaluate(background))[:3])) > 600
