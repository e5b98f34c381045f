"""Answers stream into the chat: a few throttled drafts or edits, the whole text at the end, 429s honoured, long
answers split with nothing lost, markup Telegram refuses resent as plain text, typing while waiting."""

from __future__ import annotations

import itertools

import pytest

from tests.channels.telegram.conftest import FAST, MakeBot
from tests.fakes.openai_upstream import Behaviour, FakeUpstream, text_of
from tests.fakes.telegram_api import FakeTelegram

CHAT = 4242
SLACK = 0.02  # timer resolution: an update is never sooner than the cadence minus this


def words(texts: list[str]) -> list[str]:
    return " ".join(texts).split()


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


async def test_a_streamed_answer_grows_as_throttled_drafts_and_ends_whole(
    fake: FakeTelegram, upstream: FakeUpstream, make_bot: MakeBot
) -> None:
    upstream.behaviour = Behaviour(chunks=60, chunk_delay=0.02)
    bot = await make_bot(streaming="draft")
    await bot.handle(fake.private_message(CHAT, "hello"))
    drafts = fake.calls_to("sendMessageDraft")
    assert 2 <= len(drafts) < 30  # 60 chunks over ~1.2 s: a few drafts, each carrying what arrived meanwhile
    assert all(gap >= FAST.private - SLACK for gap in gaps([call.at for call in drafts]))
    shown = [call.params["text"] for call in drafts]
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(shown))  # it only grows
    assert len({call.params["draft_id"] for call in drafts}) == 1  # one draft, animated in place
    assert fake.texts(CHAT) == [text_of(60).strip()]  # finished with one message holding the whole answer
    chat_calls = [call.method for call in fake.calls if call.params.get("chat_id") == str(CHAT)]
    assert chat_calls[0] == "sendChatAction" and chat_calls[-1] == "sendMessage"
    assert not fake.errors


async def test_edits_keep_to_the_cadence_and_skip_unchanged_text(
    fake: FakeTelegram, upstream: FakeUpstream, make_bot: MakeBot
) -> None:
    upstream.behaviour = Behaviour(chunks=60, chunk_delay=0.02)
    bot = await make_bot(streaming="edit")
    await bot.handle(fake.private_message(CHAT, "hello"))
    updates = fake.calls_to("sendMessage", "editMessageText")
    assert updates[0].method == "sendMessage" and 2 <= len(updates) < 30
    assert all(gap >= FAST.private - SLACK for gap in gaps([call.at for call in updates]))
    assert not fake.calls_to("sendMessageDraft")
    assert fake.texts(CHAT) == [text_of(60).strip()]
    assert not fake.errors  # never an edit that changed nothing ("message is not modified")


async def test_a_429_pauses_the_updates_and_they_resume(
    fake: FakeTelegram, upstream: FakeUpstream, make_bot: MakeBot
) -> None:
    upstream.behaviour = Behaviour(chunks=60, chunk_delay=0.025)
    fake.fail_next("editMessageText", 429, retry_after=1)
    bot = await make_bot(streaming="edit")
    await bot.handle(fake.private_message(CHAT, "hello"))
    updates = fake.calls_to("sendMessage", "editMessageText")
    refused = next(index for index, call in enumerate(updates) if call.method == "editMessageText")
    assert updates[refused + 1].at - updates[refused].at >= 1.0 - SLACK  # waited out retry_after
    assert fake.errors == [("editMessageText", 429, "Too Many Requests: retry after 1")]
    assert bot.channel.telegram.sender.retry_pauses == [1]
    assert fake.texts(CHAT) == [text_of(60).strip()]


async def test_a_429_on_the_final_message_is_retried(
    fake: FakeTelegram, upstream: FakeUpstream, make_bot: MakeBot
) -> None:
    upstream.behaviour = Behaviour(chunks=10)
    fake.fail_next("sendMessage", 429, retry_after=1)
    bot = await make_bot(streaming="draft")
    await bot.handle(fake.private_message(CHAT, "hello"))
    sends = fake.calls_to("sendMessage")
    assert len(sends) == 2 and sends[1].at - sends[0].at >= 1.0 - SLACK
    assert fake.texts(CHAT) == [text_of(10).strip()]


@pytest.mark.parametrize("streaming", ["draft", "edit"])
async def test_a_9000_character_answer_arrives_as_three_messages_with_nothing_lost(
    fake: FakeTelegram, upstream: FakeUpstream, make_bot: MakeBot, streaming: str
) -> None:
    chunks = 1125  # 9,015 characters
    assert len(text_of(chunks)) == 9015
    upstream.behaviour = Behaviour(chunks=chunks)
    bot = await make_bot(streaming=streaming)
    await bot.handle(fake.private_message(CHAT, "a long one please"))
    texts = fake.texts(CHAT)
    assert len(texts) == 3 and all(len(text) <= 4096 for text in texts)
    assert words(texts) == text_of(chunks).split()
    assert not fake.errors


async def test_markup_telegram_refuses_is_resent_as_plain_text(
    fake: FakeTelegram, upstream: FakeUpstream, make_bot: MakeBot
) -> None:
    upstream.behaviour = Behaviour(chunks=5)
    fake.fail_next("sendMessage", 400, 'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 3')
    bot = await make_bot(streaming="draft")
    await bot.handle(fake.private_message(CHAT, "hello"))
    sends = fake.calls_to("sendMessage")
    assert [call.params.get("parse_mode") for call in sends] == ["HTML", None]
    assert fake.texts(CHAT) == [text_of(5).strip()]


async def test_without_drafts_on_the_server_answers_grow_by_edits(
    fake: FakeTelegram, upstream: FakeUpstream, make_bot: MakeBot
) -> None:
    upstream.behaviour = Behaviour(chunks=30, chunk_delay=0.02)
    fake.fail_next("sendMessageDraft", 404, "Not Found", times=100)  # an older self-hosted Bot API server
    bot = await make_bot(streaming="draft")
    await bot.handle(fake.private_message(CHAT, "hello"))
    assert len(fake.calls_to("sendMessageDraft")) == 1  # tried once, then edits
    assert fake.calls_to("editMessageText") and fake.texts(CHAT) == [text_of(30).strip()]
    await bot.handle(fake.private_message(CHAT, "again"))
    assert len(fake.calls_to("sendMessageDraft")) == 1  # not tried again by this process


async def test_typing_shows_while_the_model_is_slow_to_start(
    fake: FakeTelegram, upstream: FakeUpstream, make_bot: MakeBot
) -> None:
    upstream.behaviour = Behaviour(chunks=3, hang_after_headers=1.5)
    bot = await make_bot(streaming="draft")
    await bot.handle(fake.private_message(CHAT, "hello"))
    typing = fake.calls_to("sendChatAction")
    assert len(typing) >= 3 and all(call.params["action"] == "typing" for call in typing)
    first_text = fake.calls_to("sendMessageDraft", "sendMessage")[0]
    assert all(call.at <= first_text.at for call in typing)  # typing stops once text shows
