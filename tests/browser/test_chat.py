"""The chat page in real Chromium against the real app and the loopback fake upstream: streaming, stop, regenerate,
edit, history across reloads and devices, safe rendering, the quota error and the reset button, IME composition,
and screenshots in both languages and themes at phone and desktop widths (test-output/screenshots/chat-*).
More features: test_chat_features.py."""

# The fixtures come from chat_helpers (tests/browser/conftest.py is shared): using them as parameters is the point.
# ruff: noqa: F811

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from core.billing.invitations import reward_invitation
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
    page.locator('.msg-user [data-act="edit"]').last.click()
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

    # Used up: Send waits, and the box says why and until when, before anything is sent.
    tab.composer.fill("第二次")
    tab.composer.press("Enter")
    status = page.locator("#composer-status")
    expect(page.locator("#send-button")).to_be_disabled()
    expect(status).to_contain_text(tab.t("chat.used_up_now", model="GPT-4o mini"))
    expect(status).to_contain_text(re.compile(r"\d{2}:\d{2}"))  # when it frees, as a time
    expect(status).to_contain_text("小时")  # and how long that is (~3 h)
    expect(status.get_by_role("link", name=tab.t("chat.err.see_plans"))).to_have_attribute("href", "/pricing")
    expect(status.locator("[data-reset-quota]")).to_have_count(0)  # no reset chances yet
    expect(tab.composer).to_have_value("第二次")  # nothing was lost
    expect(tab.questions).to_have_count(1)
    assert len(tab.chat_posts) == 1
    tab.shot("chat-quota")

    friend = create_user(chat_server, "friend@example.com", invite_code=user.invite_code)

    def proven(services: Any) -> Any:  # once the friend proves an address with a code, the invitation earns a chance
        return reward_invitation(services.store, services.settings, friend.id, trigger="bind_code", now=time.time())

    chat_server.call(proven)
    page.reload()
    expect(page.locator("body.is-ready")).to_have_count(1)
    tab.composer.fill("第二次")
    reset = status.locator("[data-reset-quota]")
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
