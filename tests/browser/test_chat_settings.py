"""Per-chat settings and prompt masks, pictures for vision models, and the pages around the chat (unknown pages,
"Forgot password?" without email or SMS, the account page's plan summary and links from the request's host), in
real Chromium."""

# The fixtures come from chat_helpers (tests/browser/conftest.py is shared): using them as parameters is the point.
# ruff: noqa: F811

from __future__ import annotations

import base64
import contextlib
import re
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from core.chat.masks import BUILTIN_MASKS
from core.notify import Notifier
from core.relay.catalogue import get_model, save_model
from tests.browser.chat_helpers import (  # noqa: F401  (fixtures are used by name)
    PASSWORD,
    ChatTab,
    ScriptedUpstream,
    changed_settings,
    chat_server,
    open_chat,
    upstream,
)
from tests.browser.conftest import DESKTOP, PHONE, LiveServer
from tests.fakes.openai_upstream import text_of

MASKS_TRANSLATOR = BUILTIN_MASKS[0].prompt[0]  # the translator mask, in Chinese

pytestmark = pytest.mark.browser


def big_png(width: int = 3000, height: int = 2000) -> bytes:
    """A large, valid PNG (a colour gradient per row, so it does not compress to nothing)."""
    rows = b"".join(b"\x00" + bytes((y % 256, (y * 3) % 256, 128)) * width for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b"")


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame marker."""
    at = 2
    while at < len(data):
        marker, length = data[at + 1], struct.unpack(">H", data[at + 2 : at + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + length
    raise AssertionError("no start-of-frame marker")


@contextlib.contextmanager
def no_code_delivery(server: LiveServer) -> Iterator[None]:
    """Run the server as a site with no email or SMS provider."""
    services = server.services
    assert services is not None
    original = services.notifier
    bare = services.settings.model_copy(update={"NEXT_PUBLIC_EMAIL_SERVICE": "", "SMS_PROVIDER": ""})
    services.notifier = Notifier(bare, services.http, services.clock)
    try:
        yield
    finally:
        services.notifier = original


def test_a_chats_settings_and_masks_are_kept_with_it_on_every_device(
    open_chat: Any, upstream: ScriptedUpstream
) -> None:
    tab: ChatTab = open_chat("zh-CN", DESKTOP)
    page = tab.page
    tab.sign_in("masked@example.com")
    page.locator("#open-settings").click()
    dialog = page.locator("#settings-dialog")
    expect(dialog).to_contain_text(tab.t("chat.settings_scope_new"))
    dialog.locator(".mask-picker summary").click()
    dialog.get_by_role("button", name=re.compile("^翻译助手")).click()
    expect(dialog.locator("#settings-system")).to_have_value(MASKS_TRANSLATOR)
    expect(dialog.locator("#settings-source")).to_have_text(tab.t("chat.settings_from", name="翻译助手"))
    expect(dialog.locator("#settings-temperature-value")).to_have_text("0.3")
    dialog.locator("#settings-max-tokens").fill("256")
    dialog.locator("#settings-context-all").uncheck()
    dialog.locator("#settings-context").fill("2")
    expect(dialog.locator("#settings-context-value")).to_have_text("2")
    tab.shot("round2-settings")
    dialog.get_by_role("button", name=tab.t("common.save")).click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#preset-label")).to_have_text("翻译助手")

    for question in ("你好", "再见", "谢谢"):
        tab.send(question)
        tab.wait_idle()
    body = upstream.chat_requests[-1].body
    assert body["temperature"] == 0.3 and body["max_tokens"] == 256
    # The mask's prompt, then only the 2 messages before the question (the context setting), then the question.
    assert [m["content"] for m in body["messages"]] == [MASKS_TRANSLATOR, "再见", text_of(8), "谢谢"]

    laptop: ChatTab = open_chat("zh-CN", PHONE)
    laptop.log_in("masked@example.com")
    laptop.page.locator("#drawer-open").click()
    laptop.page.get_by_role("link", name="你好").click()
    expect(laptop.page.locator("#preset-label")).to_have_text("翻译助手")
    laptop.page.locator("#open-settings").click()
    expect(laptop.page.locator("#settings-max-tokens")).to_have_value("256")
    expect(laptop.page.locator("#settings-context-value")).to_have_text("2")
    laptop.shot("round2-settings")

    page.locator("#new-chat").click()
    expect(page.locator("#preset-label")).to_have_text(tab.t("chat.preset_none"))  # a new chat starts plain
    page.locator("#preset-button").click()
    page.get_by_role("menuitemradio", name="代码审查").click()
    expect(page.locator("#preset-label")).to_have_text("代码审查")
    tab.send("看看这段代码")
    tab.wait_idle()
    assert upstream.chat_requests[-1].body["messages"][0]["content"].startswith("你是一名严格但友善的代码审查者")


def test_pictures_are_shrunk_sent_to_a_vision_model_and_shown_in_the_history(
    open_chat: Any, upstream: ScriptedUpstream, chat_server: LiveServer
) -> None:
    async def see(services: Any) -> None:
        model = await get_model(services.store, "gpt-4o")
        assert model is not None
        model.input_types = ["text", "image"]
        await save_model(services.store, model)

    chat_server.call(see)
    tab: ChatTab = open_chat("en", DESKTOP)
    page = tab.page
    tab.sign_in("looker@example.com")
    attach = page.locator("#image-button")
    expect(attach).to_be_disabled()  # GPT-4o mini takes text only
    expect(attach).to_have_attribute("title", tab.t("chat.image_not_supported", model="GPT-4o mini"))
    page.locator("#model-button").click()
    page.locator('[data-model="gpt-4o"]').click()
    expect(attach).to_be_enabled()
    picture = big_png()
    page.locator("#image-input").set_input_files([{"name": "photo.png", "mimeType": "image/png", "buffer": picture}])
    expect(page.locator(".attachment img")).to_have_count(1)
    tab.composer.fill("What is in this picture?")
    tab.shot("round2-picture")
    page.locator("#send-button").click()
    tab.wait_idle()
    parts = upstream.last_messages()[-1]["content"]
    assert parts[0] == {"type": "text", "text": "What is in this picture?"}
    url = parts[1]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    shrunk = base64.b64decode(url.split(",", 1)[1])
    assert jpeg_size(shrunk) == (1568, 1045)  # shrunk in the browser: the longest side at 1568 px
    page.reload()
    shown = page.locator(".msg-user .msg-images img")
    expect(shown).to_have_count(1)
    expect(shown).to_have_attribute("src", re.compile(r"^/api/conversations/\w+/images/\w+$"))
    assert shown.evaluate("(img) => img.decode().then(() => img.naturalWidth)") == 1568

    with changed_settings(chat_server, MAX_BODY_BYTES=60_000):
        page.reload()
        expect(page.locator("body.is-ready")).to_have_count(1)
        page.locator("#image-input").set_input_files(
            [{"name": "photo.png", "mimeType": "image/png", "buffer": picture}]
        )
        expect(page.locator("#composer-status")).to_contain_text(
            re.compile(r"The pictures are too big: this message is")
        )
        tab.composer.fill("Too big?")
        expect(page.locator("#send-button")).to_be_disabled()
        page.get_by_role("button", name=tab.t("chat.image_remove", n=1)).click()
        expect(page.locator("#send-button")).to_be_enabled()

    # Pasted and dropped pictures join the message as picked ones do.
    small = base64.b64encode(big_png(40, 30)).decode()
    for kind in ("paste", "drop"):
        page.locator("#composer").evaluate(
            """(form, [kind, data]) => {
              const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
              const files = new DataTransfer();
              files.items.add(new File([bytes], "shot.png", { type: "image/png" }));
              const event = kind === "paste"
                ? new ClipboardEvent("paste", { clipboardData: files, bubbles: true, cancelable: true })
                : new DragEvent("drop", { dataTransfer: files, bubbles: true, cancelable: true });
              form.querySelector("textarea").dispatchEvent(event);
            }""",
            [kind, small],
        )
    expect(page.locator(".attachment img")).to_have_count(2)


@pytest.mark.parametrize(("lang", "viewport"), [("zh-CN", PHONE), ("en", DESKTOP)])
def test_no_dead_ends_around_the_chat(
    open_chat: Any, chat_server: LiveServer, lang: str, viewport: dict[str, int]
) -> None:
    tab: ChatTab = open_chat(lang, viewport)
    page = tab.page
    response = page.goto(f"{chat_server.url}/no-such-page")
    assert response is not None and response.status == 404 and "text/html" in response.headers["content-type"]
    expect(page.locator("h1")).to_have_text(tab.t("errorpage.missing.title"))
    tab.shot("round2-404")
    page.get_by_role("link", name=tab.t("errorpage.home")).click()
    expect(page).to_have_url(re.compile("/login$"))

    with no_code_delivery(chat_server):
        page.reload()
        expect(page.get_by_role("link", name=tab.t("login.forgot"))).to_have_count(0)  # nothing to reset with
        with changed_settings(chat_server, SUPPORT_CONTACT="help@example.com"):
            page.reload()
            page.get_by_role("link", name=tab.t("login.forgot")).click()
            contact = page.locator("#forgot-contact")
            expect(contact).to_contain_text(tab.t("forgot.contact"))
            expect(contact.get_by_role("link", name="help@example.com")).to_have_attribute(
                "href", "mailto:help@example.com"
            )
            tab.shot("round2-forgot")

    user = tab.sign_in(f"planner-{lang.lower()}@example.com")
    port = chat_server.url.rsplit(":", 1)[1]
    with changed_settings(chat_server, DOMAIN=""):
        other_host = f"http://localhost:{port}"  # the same app reached by another name
        signed = page.request.post(f"{other_host}/api/auth/login", data={"email": user.email, "password": PASSWORD})
        assert signed.ok, signed.text()
        page.goto(f"{other_host}/account")  # DOMAIN unset: links follow the host the page was asked on
        expect(page.locator("#invite-link")).to_have_value(f"http://localhost:{port}/register?code={user.invite_code}")
        expect(page.locator("#keys")).to_contain_text(f"http://localhost:{port}/v1")
    plan = page.locator("#plan")
    expect(plan).to_contain_text(tab.t("chat.plan", plan="Free"))
    expect(plan.locator(".quota-row")).to_have_count(2)
    expect(plan.get_by_role("link", name=tab.t("chat.upgrade"))).to_have_attribute("href", "/pricing")
    tab.shot("round2-account")
    page.get_by_role("link", name=tab.t("account.back_to_chat")).click()
    expect(page.locator("body.is-ready")).to_have_count(1)
