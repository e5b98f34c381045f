"""The chat's round two in real Chromium: nothing lost (long answers, edited questions kept as versions), no hidden
limits (a counter, the server's reason, no retry that cannot work), quota that refreshes itself and offers another
model, and loading states on a slow network. Screenshots: test-output/screenshots/round2-*."""

# The fixtures come from chat_helpers (tests/browser/conftest.py is shared): using them as parameters is the point.
# ruff: noqa: F811

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from core.billing.plans import get_plan
from core.billing.quotas import consume_quota
from core.chat.conversations import create_conversation
from core.chat.messages import append_message, new_message
from tests.browser.chat_helpers import (  # noqa: F401  (fixtures are used by name)
    MODEL,
    ChatTab,
    ScriptedUpstream,
    changed_settings,
    chat_server,
    open_chat,
    seed_models,
    slow_network,
    upstream,
)
from tests.browser.conftest import DESKTOP, PHONE, LiveServer
from tests.fakes.openai_upstream import Behaviour, text_of

pytestmark = pytest.mark.browser

LONG = "".join(f"第 {n} 段：the answer keeps going with **bold**, `code` and 中文。\n\n" for n in range(900))


def use_up(server: LiveServer, user_id: int, model: str = MODEL) -> None:
    """Take a model's slot for the user behind the page's back (another device did)."""

    async def take(services: Any) -> None:
        plan = await get_plan(services.store, "free")
        await consume_quota(services.store, user_id, plan, model, time.time())

    server.call(take)


def test_a_long_answer_reloads_exactly_and_one_over_the_cap_is_marked(
    open_chat: Any, upstream: ScriptedUpstream, chat_server: LiveServer
) -> None:
    tab: ChatTab = open_chat("zh-CN", DESKTOP)
    page = tab.page
    tab.sign_in("longreader@example.com")
    assert len(LONG) > 45_000
    upstream.answer = LONG
    upstream.behaviour = Behaviour(chunks=60)
    tab.send("写一篇很长的文章")
    tab.wait_idle(timeout=30_000)
    streamed = tab.answers.last.inner_text()
    assert "第 899 段" in streamed
    page.reload()
    expect(tab.answers.last).to_have_text(streamed)  # after a reload exactly what streamed: not cut at 32,000
    expect(page.locator(".msg-truncated")).to_have_count(0)

    with changed_settings(chat_server, ANSWER_MAX_CHARS=4_000):
        page.reload()
        expect(page.locator("body.is-ready")).to_have_count(1)
        tab.send("再来一篇")
        tab.wait_idle(timeout=30_000)
        marker = page.locator(".msg-truncated")
        expect(marker).to_have_text(tab.t("chat.truncated", n="4,000"))
        kept = tab.answers.last.inner_text()
        assert "第 899 段" not in kept and "第 40 段" in kept
        tab.shot("round2-truncated")
        page.reload()
        expect(tab.answers.last).to_have_text(kept)  # what the page showed at the end is what was kept
        expect(marker).to_have_count(1)


def test_the_quota_refreshes_by_itself_when_a_slot_frees(
    open_chat: Any, upstream: ScriptedUpstream, chat_server: LiveServer
) -> None:
    seed_models(chat_server, upstream, limits={MODEL: (1, "3s"), "gpt-4o": (10, "1d")})
    tab: ChatTab = open_chat("en", DESKTOP)
    page = tab.page
    tab.sign_in("waiter@example.com")
    tab.send("One")
    tab.wait_idle()
    pill = page.locator("#model-quota")
    expect(pill).to_have_text("0/1")
    expect(page.locator("#send-button")).to_be_disabled()
    expect(page.locator("#composer-status")).to_contain_text(tab.t("chat.used_up_now", model="GPT-4o mini"))
    expect(pill).to_have_text("1/1", timeout=8_000)  # no reload: the page re-read the quota when the slot freed
    expect(page.locator("#composer-status")).to_be_hidden()
    tab.composer.fill("Two")
    expect(page.locator("#send-button")).to_be_enabled()


def test_a_used_up_model_offers_another_and_an_old_chat_keeps_a_usable_model(
    open_chat: Any, upstream: ScriptedUpstream, chat_server: LiveServer
) -> None:
    seed_models(chat_server, upstream, limits={MODEL: (2, "3h"), "gpt-4o": (10, "1d")})
    tab: ChatTab = open_chat("en", DESKTOP)
    page = tab.page
    user = tab.sign_in("switcher@example.com")
    expect(page.locator("#composer-hint")).to_contain_text("each use a message, even if stopped")
    tab.send("Old chat")
    tab.wait_idle()
    regenerate = page.locator('.msg-assistant [data-act="regenerate"]')
    expect(regenerate).to_have_attribute("aria-label", tab.t("chat.regenerate_costs"))
    expect(page.locator("#stop-button")).to_have_attribute("title", tab.t("chat.stop_costs"))
    expect(page.locator("#model-quota")).to_have_text("1/2")

    page.locator("#new-chat").click()
    use_up(chat_server, user.id)  # the last slot goes on another device: this page still shows 1/2
    tab.send("Second question")
    card = page.locator(".alert-card")
    expect(card.locator(".alert-title")).to_have_text(tab.t("chat.err.quota_title"))
    switch = card.get_by_role("button", name=tab.t("chat.switch_to", model="GPT-4o", n=10))
    tab.shot("round2-quota-card")
    switch.click()
    tab.wait_idle()
    expect(page.locator("#model-name")).to_have_text("GPT-4o")
    expect(tab.questions).to_have_text(["Second question"])
    assert upstream.chat_requests[-1].body["model"] == "gpt-4o"
    expect(card).to_have_count(0)

    page.get_by_role("link", name="Old chat").click()  # it used GPT-4o mini, which is used up now
    expect(tab.questions).to_have_text(["Old chat"])
    status = page.locator("#composer-status")
    expect(page.locator("#model-name")).to_have_text("GPT-4o")
    expect(status).to_have_text(tab.t("chat.kept_model", model="GPT-4o mini", kept="GPT-4o"))

    page.locator("#model-button").click()
    page.get_by_role("option", name=re.compile("GPT-4o mini")).click()  # picking a used-up model: Send says why
    expect(status).to_contain_text(tab.t("chat.used_up_now", model="GPT-4o mini"))
    expect(page.locator("#send-button")).to_be_disabled()
    tab.shot("round2-used-up")
    status.get_by_role("button", name=re.compile("GPT-4o")).click()
    expect(page.locator("#model-name")).to_have_text("GPT-4o")


def test_a_paste_over_the_limit_is_counted_and_refused_with_the_servers_reason(
    open_chat: Any, upstream: ScriptedUpstream
) -> None:
    tab: ChatTab = open_chat("en", DESKTOP)
    page = tab.page
    tab.sign_in("paster@example.com")
    tab.composer.fill("x" * 26_000)
    counter = page.locator("#composer-count")
    expect(counter).to_have_text("26,000 / 32,000")  # near the limit: a counter
    tab.composer.fill("x" * 38_000)
    expect(counter).to_have_class(re.compile("is-over"))
    expect(page.locator("#composer-status")).to_have_text(tab.t("chat.too_long_now", over="6,000", max="32,000"))
    expect(page.locator("#send-button")).to_be_disabled()
    tab.composer.press("Enter")
    page.wait_for_timeout(200)
    assert tab.chat_posts == []
    tab.shot("round2-too-long")

    page.evaluate("() => window.CG.chat.flow.send('y'.repeat(38000))")  # what an old page would have sent
    card = page.locator(".alert-card")
    expect(card.locator(".alert-title")).to_have_text(tab.t("error.message_too_long"))
    expect(card.locator(".alert-text")).to_have_text(
        tab.t("chat.err.too_long_by", length="38,000", max="32,000", over="6,000")
    )
    expect(card.get_by_role("button", name=tab.t("common.retry"))).to_have_count(0)  # it would fail the same way

    page.evaluate("() => { window.CG.chat.state.settings.temperature = 5; }")
    tab.send("Hello")
    expect(card.locator(".alert-text")).to_contain_text("temperature must be a number from 0 to 2")
    expect(card.get_by_role("button", name=tab.t("common.retry"))).to_have_count(0)
    expect(tab.composer).to_have_value("Hello")


def test_a_slow_network_shows_skeletons_and_a_pending_send(
    open_chat: Any, upstream: ScriptedUpstream, chat_server: LiveServer
) -> None:
    tab: ChatTab = open_chat("zh-CN", PHONE)
    page = tab.page
    user = tab.sign_in("patient@example.com")

    async def seed(services: Any) -> str:
        conversation = await create_conversation(services.store, user.id, model=MODEL, channel="web", now=time.time())
        for role, text in (("user", "慢速网络上的旧对话"), ("assistant", "这是回答。")):
            await append_message(services.store, user.id, conversation.id, new_message(role, text, time.time()))
        return conversation.id

    cid = chat_server.call(seed)
    slow_network(tab)
    page.goto(f"{chat_server.url}/?c={cid}", wait_until="commit")
    expect(page.locator("#thread-skeleton")).to_be_visible()
    expect(page.locator("#empty-state")).to_be_hidden()  # never the empty "Hello" screen for a chat being opened
    page.locator("#drawer-open").click(timeout=20_000)
    expect(page.locator("#conv-skeleton")).to_be_visible()
    tab.shot("round2-skeleton-list")
    page.keyboard.press("Escape")
    expect(tab.questions).to_have_text(["慢速网络上的旧对话"], timeout=20_000)
    expect(page.locator("#thread-skeleton")).to_be_hidden()

    tab.composer.fill("再问一个问题")
    tab.composer.press("Enter")
    pending = page.locator(".msg-user.is-sending")
    expect(pending).to_have_count(1)
    expect(pending.locator(".msg-sending")).to_have_text(tab.t("chat.sending"))
    expect(page.locator("#stop-button.is-pending")).to_be_visible()
    tab.shot("round2-sending")
    tab.wait_idle(timeout=20_000)
    expect(pending).to_have_count(0)
    expect(tab.answers.last).to_have_text(text_of(8).strip())


def test_editing_an_earlier_question_keeps_the_old_branch_as_a_version(
    open_chat: Any, upstream: ScriptedUpstream
) -> None:
    tab: ChatTab = open_chat("en", DESKTOP)
    page = tab.page
    tab.sign_in("editor@example.com")
    for question in ("First question", "Second question"):
        tab.send(question)
        tab.wait_idle()
    first = page.locator(".msg-user").first
    first.hover()
    first.locator('[data-act="edit"]').click()
    expect(page.locator(".msg-edit-note")).to_have_text(tab.t("chat.edit_note"))
    editor = page.locator(".msg-edit-input")
    editor.fill("First question, reworded")
    upstream.behaviour = Behaviour(chunks=3)
    editor.press("Enter")
    tab.wait_idle()
    expect(tab.questions).to_have_text(["First question, reworded"])
    expect(tab.answers).to_have_text([text_of(3).strip()])
    assert upstream.last_messages() == [{"role": "user", "content": "First question, reworded"}]
    versions = page.locator(".msg-user .msg-version")
    expect(versions).to_have_text("2 / 2")
    tab.shot("round2-versions")

    page.get_by_role("button", name=tab.t("chat.version_prev")).click()
    expect(versions.first).to_have_text("1 / 2")
    expect(tab.questions).to_have_text(["First question", "Second question"])
    expect(tab.answers).to_have_count(2)
    page.reload()
    expect(tab.questions).to_have_text(["First question", "Second question"])  # the choice is kept on the server
    expect(page.locator(".msg-user .msg-version").first).to_have_text("1 / 2")
    page.get_by_role("button", name=tab.t("chat.version_next")).click()
    expect(tab.questions).to_have_text(["First question, reworded"])


def test_the_trial_upstream_streams_markdown_a_newcomer_can_see(open_chat: Any, upstream: ScriptedUpstream) -> None:
    tab: ChatTab = open_chat("zh-CN", PHONE)
    page = tab.page
    tab.sign_in("newcomer@example.com")
    upstream.demo = True  # what the README's trial recipe runs: realistic answers, with a wait and a pace
    upstream.behaviour = Behaviour(hang=0.3, chunk_delay=0.004)
    tab.send("怎么统计一个文件里的词频？")
    answer = page.locator(".msg-assistant").last
    expect(answer).to_have_class(re.compile("is-streaming"))
    expect(answer.locator(".typing")).to_be_visible()  # the wait before the first piece
    lengths: set[int] = set()
    while "is-streaming" in (answer.get_attribute("class") or ""):
        lengths.add(len(answer.locator(".msg-body").inner_text()))
        page.wait_for_timeout(40)
    assert len(lengths) >= 4, f"the answer did not stream in pieces: {sorted(lengths)}"
    tab.wait_idle()
    expect(answer.locator(".code-block .hljs-keyword").first).to_be_visible()
    expect(answer.locator(".table-wrap table")).to_have_count(1)
    expect(answer.locator(".katex")).to_have_count(3)
    expect(answer.locator("li.task-item input[type=checkbox]")).to_have_count(3)
    tab.shot("round2-trial-answer")
