"""The chat page in real Chromium against the real app and the loopback fake upstream: streaming, stop, regenerate,
edit, history across reloads and devices, safe rendering, quota errors and the reset button, IME composition,
presets, the announcement, the drawer, and screenshots (test-output/screenshots/chat-*)."""

# The fixtures come from chat_helpers (tests/browser/conftest.py is shared): using them as parameters is the point.
# ruff: noqa: F811

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from core.moderation import build_moderation
from core.moderation.keywords import set_words
from core.notice import set_notice
from tests.browser.chat_helpers import (  # noqa: F401  (fixtures are used by name)
    MODEL,
    SLOW,
    ChatTab,
    ScriptedUpstream,
    chat_server,
    create_user,
    open_chat,
    seed_models,
    upstream,
)
from tests.browser.conftest import DESKTOP, PHONE, LiveServer
from tests.fakes.openai_upstream import Behaviour, text_of

pytestmark = pytest.mark.browser

UNSAFE_ANSWER = (
    "Careful: <img src=x onerror=alert(1)> and [click](javascript:alert(1)) and [docs](https://example.com/docs)"
    "\n\n```python\nprint('hi')\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- one\n- two\n"
)
# Every attribute in the document that could run script: event handlers and javascript:/data: URLs.
SCRIPT_ATTRIBUTES = """() => Array.from(document.querySelectorAll("*")).flatMap((node) =>
  Array.from(node.attributes)
    .filter((a) => a.name.startsWith("on") || /^\\s*(javascript|data|vbscript):/i.test(a.value))
    .map((a) => node.tagName + " " + a.name + "=" + a.value))"""


def grows_while_streaming(tab: ChatTab) -> list[int]:
    """Sample the last answer's length while it streams; return the distinct lengths seen before it finished."""
    answer = tab.page.locator(".msg-assistant").last
    expect(answer).to_have_class(re.compile("is-streaming"))
    seen: list[int] = []
    end = time.monotonic() + 15
    while time.monotonic() < end and "is-streaming" in (answer.get_attribute("class") or ""):
        length = len(answer.locator(".msg-body").inner_text())
        if length and (not seen or length != seen[-1]):
            seen.append(length)
        tab.page.wait_for_timeout(60)
    return seen


def test_send_stream_stop_regenerate_edit_and_history_everywhere(
    open_chat: Any, upstream: ScriptedUpstream, chat_server: LiveServer
) -> None:
    tab: ChatTab = open_chat("en", DESKTOP)
    page = tab.page
    tab.sign_in("streamer@example.com")
    upstream.behaviour = SLOW
    tab.send("Count slowly please")
    lengths = grows_while_streaming(tab)
    assert len(lengths) >= 3 and lengths == sorted(lengths), f"the answer did not grow progressively: {lengths}"
    tab.wait_idle()
    expect(tab.answers.last).to_have_text(text_of(40).strip())
    expect(page).to_have_url(re.compile(r"/\?c=[\w-]+$"))
    expect(page.locator(".conv-item.is-current .conv-title")).to_have_text("Count slowly please")
    assert upstream.last_messages()[-1] == {"role": "user", "content": "Count slowly please"}

    # Stop mid-stream: the text stops growing and the server hangs up on the upstream.
    tab.send("Another slow one")
    expect(tab.answers.last).to_contain_text("word5")
    page.locator("#stop-button").click()
    tab.wait_idle()
    stopped = tab.answers.last.inner_text()
    page.wait_for_timeout(400)
    assert tab.answers.last.inner_text() == stopped and "word39" not in stopped
    expect(page.locator(".msg-assistant").last.locator(".msg-note").first).to_have_text(tab.t("chat.stopped"))
    deadline = time.monotonic() + 5
    while upstream.disconnects == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert upstream.disconnects >= 1, "stopping did not close the upstream request"

    # Regenerate the stopped answer: a complete one replaces it.
    upstream.behaviour = Behaviour(chunks=8)
    page.locator('.msg-assistant [data-act="regenerate"]').click()
    tab.wait_idle()
    expect(tab.answers).to_have_count(2)
    expect(tab.answers.last).to_have_text(text_of(8).strip())

    # Edit the last question and resend it.
    page.locator('.msg-user [data-act="edit"]').click()
    editor = page.locator(".msg-edit-input")
    editor.fill("An edited question")
    editor.press("Enter")
    tab.wait_idle()
    expect(tab.questions).to_have_text(["Count slowly please", "An edited question"])
    assert upstream.last_messages()[-1] == {"role": "user", "content": "An edited question"}
    expect(tab.answers).to_have_count(2)

    # Reload: the same conversation, from the server.
    page.reload()
    expect(tab.questions).to_have_text(["Count slowly please", "An edited question"])
    expect(tab.answers).to_have_count(2)
    expect(tab.answers.last).to_have_text(text_of(8).strip())

    # Another device: the same history.
    other: ChatTab = open_chat("en", PHONE)
    other.log_in("streamer@example.com")
    other.page.locator("#drawer-open").click()
    other.page.get_by_role("link", name="Count slowly please").click()
    expect(other.questions).to_have_text(["Count slowly please", "An edited question"])
    expect(other.answers.last).to_have_text(text_of(8).strip())
    expect(other.page.locator("#sidebar")).not_to_be_in_viewport()


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

    with page.expect_download() as download:
        page.locator("#export-link").click()
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


def test_model_output_and_user_text_render_inert(open_chat: Any, upstream: ScriptedUpstream) -> None:
    tab: ChatTab = open_chat("en", DESKTOP)
    page = tab.page
    tab.sign_in("careful@example.com")
    upstream.answer = UNSAFE_ANSWER
    upstream.behaviour = Behaviour(chunks=12, chunk_delay=0.02)
    tab.send("<b onmouseover=alert(2)>bold?</b> [x](javascript:alert(3))")
    tab.wait_idle()
    for _ in range(2):  # as streamed, then as loaded from the history
        answer = tab.answers.last
        expect(answer).to_contain_text("<img src=x onerror=alert(1)>")  # shown as text, not as an element
        assert page.evaluate(SCRIPT_ATTRIBUTES) == []
        assert answer.locator("img").count() == 0
        expect(answer.locator("a", has_text="click")).not_to_have_attribute("href", re.compile("."))
        docs = answer.locator("a", has_text="docs")
        expect(docs).to_have_attribute("href", "https://example.com/docs")
        expect(docs).to_have_attribute("target", "_blank")
        expect(docs).to_have_attribute("rel", "noopener noreferrer")
        expect(answer.locator(".code-block code.hljs .hljs-built_in")).to_have_text("print")
        expect(answer.locator(".code-block .code-copy")).to_be_visible()
        expect(answer.locator(".table-wrap table td")).to_have_text(["1", "2"])
        expect(answer.locator("ul > li")).to_have_text(["one", "two"])
        expect(tab.questions.last).to_have_text("<b onmouseover=alert(2)>bold?</b> [x](javascript:alert(3))")
        page.locator(".msg-user .msg-bubble").last.hover()
        page.reload()
    assert tab.dialogs == []


def test_quota_exhausted_shows_when_it_frees_pricing_and_reset(
    open_chat: Any, upstream: ScriptedUpstream, chat_server: LiveServer
) -> None:
    seed_models(chat_server, upstream, limits={MODEL: (1, "3h")})
    tab: ChatTab = open_chat("zh-CN", DESKTOP)
    page = tab.page
    user = tab.sign_in("thrifty@example.com")
    expect(page.locator("#model-quota")).to_have_text("1/1")
    tab.send("第一次")
    tab.wait_idle()
    expect(page.locator("#model-quota")).to_have_text("0/1")

    tab.send("第二次")
    card = page.locator(".alert-card")
    expect(card.locator(".alert-title")).to_have_text(tab.t("chat.err.quota_title"))
    expect(card.locator(".alert-text")).to_contain_text(re.compile(r"\d{2}:\d{2}"))  # when it frees, as a time
    expect(card.locator(".alert-text")).to_contain_text("小时")  # and how long that is (~3 h)
    expect(card.get_by_role("link", name=tab.t("chat.err.see_plans"))).to_have_attribute("href", "/pricing")
    expect(card.locator("[data-reset-quota]")).to_have_count(0)  # no reset chances yet
    expect(tab.composer).to_have_value("第二次")  # nothing was lost
    expect(tab.questions).to_have_count(1)
    tab.shot("chat-quota")

    create_user(chat_server, "friend@example.com", invite_code=user.invite_code)  # the invitation earns a chance
    page.locator("#send-button").click()
    reset = card.locator("[data-reset-quota]")
    expect(reset).to_have_text(tab.t("chat.err.use_reset", n=1))
    reset.click()
    expect(page.locator(".alert-card .alert-title")).to_have_text(tab.t("chat.err.reset_done"))
    expect(page.locator("#model-quota")).to_have_text("1/1")
    page.locator("#send-button").click()
    tab.wait_idle()
    expect(tab.questions).to_have_text(["第一次", "第二次"])
    expect(tab.answers).to_have_count(2)


def test_ime_composition_is_not_sent_early(open_chat: Any, upstream: ScriptedUpstream) -> None:
    tab: ChatTab = open_chat("zh-CN", PHONE)
    page = tab.page
    tab.sign_in("pinyin@example.com")
    box = tab.composer
    box.focus()
    box.evaluate("""(box) => {
      box.dispatchEvent(new CompositionEvent("compositionstart", {data: ""}));
      box.value = "你好";
      box.dispatchEvent(new InputEvent("input", {data: "你好", isComposing: true, inputType: "insertCompositionText"}));
      // The Enter that picks a candidate: composing, and keyCode 229 as browsers report it.
      const pick = new KeyboardEvent("keydown",
        {key: "Enter", code: "Enter", isComposing: true, bubbles: true, cancelable: true});
      Object.defineProperty(pick, "keyCode", {get: () => 229});
      box.dispatchEvent(pick);
    }""")
    page.keyboard.press("Enter")  # a trusted Enter between compositionstart and compositionend
    box.evaluate("""(box) => {
      box.dispatchEvent(new CompositionEvent("compositionend", {data: "你好"}));
      const late = new KeyboardEvent("keydown", {key: "Enter", bubbles: true, cancelable: true});
      Object.defineProperty(late, "keyCode", {get: () => 229});  // Safari: the committing Enter after the end
      box.dispatchEvent(late);
    }""")
    page.wait_for_timeout(300)
    assert tab.chat_posts == [], "a message was sent while the input method was composing"
    # (Without a real input method, that trusted Enter also typed a line break; a real one would have used it.)
    expect(box).to_have_value(re.compile("^你好"))
    box.fill("你好")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("世界")
    expect(box).to_have_value("你好\n世界")
    assert tab.chat_posts == []
    page.keyboard.press("Enter")
    tab.wait_idle()
    assert len(tab.chat_posts) == 1 and json.loads(tab.chat_posts[0])["content"] == "你好\n世界"
    expect(tab.questions).to_have_text(["你好\n世界"])


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
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.reload()
    expect(page.locator("body.is-ready")).to_have_count(1)
    page.wait_for_timeout(300)
    expect(dialog).to_be_hidden()

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


RICH_ANSWER = {
    "zh-CN": (
        "下面是一个**读取 CSV** 并计算每列平均值的示例：\n\n```python\nimport csv\nfrom statistics import mean\n\n"
        'with open("data.csv", newline="") as f:\n    rows = list(csv.DictReader(f))\n'
        "for column in rows[0]:\n    print(column, mean(float(r[column]) for r in rows))\n```\n\n"
        "| 步骤 | 说明 |\n|---|---|\n| 读取 | `csv.DictReader` 按表头生成字典 |\n"
        "| 统计 | `statistics.mean` 求平均值 |\n\n"
        "注意事项：\n\n1. 空值需要先过滤；\n2. 数字列才能求平均。\n"
    ),
    "en": (
        "Here is how to **read a CSV** and print the mean of each column:\n\n```python\nimport csv\n"
        'from statistics import mean\n\nwith open("data.csv", newline="") as f:\n    rows = list(csv.DictReader(f))\n'
        "for column in rows[0]:\n    print(column, mean(float(r[column]) for r in rows))\n```\n\n"
        "| Step | What it does |\n|---|---|\n| Read | `csv.DictReader` yields one dict per row |\n"
        "| Summarise | `statistics.mean` averages a column |\n\nKeep in mind:\n\n1. Skip empty cells first;\n"
        "2. Only numeric columns have a mean.\n"
    ),
}
QUESTION = {
    "zh-CN": "写一段 Python 代码，读取 CSV 文件并按列统计平均值。",
    "en": "Read a CSV in Python and average each column",
}


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_screenshots(
    open_chat: Any, upstream: ScriptedUpstream, chat_server: LiveServer, lang: str, theme: str
) -> None:
    tab: ChatTab = open_chat(lang, DESKTOP, theme)
    page = tab.page
    tab.sign_in(f"looks-{lang.lower()}-{theme}@example.com")
    background = page.evaluate("() => getComputedStyle(document.querySelector('.chat-pane')).backgroundColor")
    channels = [int(part) for part in re.findall(r"\d+", background)[:3]]
    assert (sum(channels) < 150) == (theme == "dark"), f"{theme} theme, pane background {background}"
    tab.shot("chat-empty")
    for title in ("周报" if lang == "zh-CN" else "Weekly report", "旅行计划" if lang == "zh-CN" else "Trip plan"):
        upstream.answer = "OK"
        tab.send(title)
        tab.wait_idle()
        page.locator("#new-chat").click()
    upstream.answer = RICH_ANSWER[lang]
    tab.send(QUESTION[lang])
    tab.wait_idle()
    page.mouse.move(0, 0)
    tab.shot("chat")
    page.locator("#model-button").click()
    tab.shot("chat-models")
    page.keyboard.press("Escape")
    page.locator("#user-menu-button").click()
    tab.shot("chat-menu")
    page.keyboard.press("Escape")

    tab.viewport = PHONE
    page.set_viewport_size({"width": PHONE["width"], "height": PHONE["height"]})
    tab.shot("chat")
    page.locator("#drawer-open").click()
    tab.shot("chat-drawer")
    page.keyboard.press("Escape")
    page.locator("#header-new").click()
    tab.shot("chat-empty")
