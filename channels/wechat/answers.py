"""What a follower's message is answered with: a chat turn, a command, a welcome, or a polite refusal.

Text and voice (WeChat's speech recognition) go to the chat path (core.chat.channel.run_channel_turn) in the
follower's current WeChat conversation, on the account's plan and quota; the follower's openid is a channel identity
(core.accounts.channel_identities.identify creates a free account on first contact). Commands, typed or from a menu
CLICK key, run through the command set both bots share (channels.commands); 帮助 and 登录 are WeChat's own (登录
answers with a one-time code for the web sign-in page). Answers are plain text: Markdown is turned into readable
text (channels.wechat.plaintext). Core errors become their text in the follower's language.
"""

from __future__ import annotations

from dataclasses import dataclass

from channels.commands import Command, CommandReply, parse_command, run_command
from channels.messages import error_text
from channels.wechat.codec import Inbound
from channels.wechat.followers import record_subscribe, record_unsubscribe
from channels.wechat.messages import CATALOGUE
from channels.wechat.plaintext import markdown_to_text
from core.accounts.channel_identities import identify
from core.accounts.login_codes import LOGIN_CODE_SECONDS, issue_login_code
from core.accounts.users import User
from core.chat.channel import run_channel_turn
from core.chat.events import ChatDelta, ChatError
from core.errors import CoreError
from core.i18n import normalize_language
from core.services import Services
from core.site.notice import get_notice, mark_notice_seen

CHANNEL = "wechat"
LOGIN_CODE_PATH = "/login/code"
CHAT_KINDS = frozenset({"text", "voice"})
ENGLISH_WORDS = frozenset({"help", "new", "model", "usage", "plan", "redeem", "bind", "notice", "login"})


@dataclass(frozen=True)
class Reply:
    text: str  # plain text; "" = nothing to answer
    lang: str


def command_of(inbound: Inbound) -> Command | None:
    """Return the command of a message or menu click (an unknown menu key shows the help), or None for chat."""
    if inbound.kind == "click":
        return parse_command(inbound.text) or Command("help", "")
    if inbound.kind in CHAT_KINDS:
        return parse_command(inbound.text)
    return None


def is_chat(inbound: Inbound) -> bool:
    """True for words meant for the model (not a command, not an empty voice recognition)."""
    return inbound.kind in CHAT_KINDS and bool(inbound.text.strip()) and command_of(inbound) is None


def language_of(user: User | None, inbound: Inbound, default: str) -> str:
    """The account's language; else English when a command was typed in English; else the site's default."""
    chosen = normalize_language(user.lang) if user is not None else None
    if chosen:
        return chosen
    first = inbound.text.strip().lstrip("/").split(maxsplit=1)[:1]
    if inbound.kind in CHAT_KINDS and first and first[0].lower() in ENGLISH_WORDS:
        return "en"
    return normalize_language(default) or "zh-CN"


class Answerer:
    def __init__(self, services: Services) -> None:
        self.services = services

    def text(self, lang: str, key: str, **params: object) -> str:
        return CATALOGUE.text(lang, key, **params)

    async def answer(self, inbound: Inbound) -> Reply:
        """Return what to answer `inbound` with (and record what it tells: a subscribe, an unsubscribe)."""
        services = self.services
        store, settings, now = services.store, services.settings, services.clock()
        default = settings.DEFAULT_LANGUAGE
        if inbound.kind == "unsubscribe":
            await record_unsubscribe(store, inbound.openid, now)
            return Reply("", default)
        if inbound.kind == "event":
            return Reply("", default)
        user = await identify(store, settings, CHANNEL, inbound.openid, now=now)
        lang = language_of(user, inbound, default)
        return Reply(await self._answer(inbound, user, lang), lang)

    async def _answer(self, inbound: Inbound, user: User, lang: str) -> str:
        if user.blocked:
            return self.text(lang, "error.account_blocked")
        if inbound.kind == "subscribe":
            await record_subscribe(self.services.store, inbound.openid, self.services.clock())
            return await self._welcome(user, lang)
        if inbound.kind not in CHAT_KINDS and inbound.kind != "click":
            return self.text(lang, "wechat.text_only")
        if not inbound.text.strip():
            return self.text(lang, "wechat.voice_unrecognised" if inbound.kind == "voice" else "wechat.help")
        command = command_of(inbound)
        if command is not None:
            return await self._command(user, command, lang)
        return await self._chat(user, inbound.text.strip(), lang)

    async def _welcome(self, user: User, lang: str) -> str:
        store = self.services.store
        text = self.text(lang, "wechat.welcome", site=self.services.settings.NEXT_PUBLIC_TITLE)
        notice = await get_notice(store)
        if notice is None:
            return text
        await mark_notice_seen(store, user.id, notice.version)
        return f"{text}\n\n{self.text(lang, 'wechat.notice')}\n{markdown_to_text(notice.markdown)}"

    async def _command(self, user: User, command: Command, lang: str) -> str:
        services = self.services
        if command.name in ("help", "start"):
            return self.text(lang, "wechat.help")
        if command.name == "login":
            code = await issue_login_code(services.store, user.id)
            url = services.settings.DOMAIN + LOGIN_CODE_PATH
            return self.text(lang, "wechat.login_code", code=code, minutes=LOGIN_CODE_SECONDS // 60, url=url)
        reply = await run_command(services, user, CHANNEL, command, lang=lang)
        if command.name == "notice" and reply.text != self.text(lang, "bot.notice_none"):
            return f"{self.text(lang, 'wechat.notice')}\n{markdown_to_text(reply.text)}"
        return self._render(reply, lang)

    def _render(self, reply: CommandReply, lang: str) -> str:
        lines = [reply.text]
        if reply.choices:
            lines += [self.text(lang, "wechat.model_choice", label=label) for _value, label in reply.choices]
            lines.append(self.text(lang, "bot.model_pick_text", example=reply.choices[0][0]))
        if reply.link:
            lines.append(reply.link)
        return "\n".join(lines)

    async def _chat(self, user: User, words: str, lang: str) -> str:
        try:
            stream = await run_channel_turn(self.services, user, CHANNEL, words)
        except CoreError as error:
            return error_text(error, lang)
        pieces: list[str] = []
        failure: CoreError | None = None
        try:
            async for event in stream:
                if isinstance(event, ChatDelta):
                    pieces.append(event.content)
                elif isinstance(event, ChatError):
                    failure = event.error
        finally:
            await stream.aclose()
        answer = markdown_to_text("".join(pieces)).strip()
        if failure is not None:
            if failure.code == "content_filter" or not answer:
                return error_text(failure, lang)  # a blocked answer is not shown, not even in part
            return f"{answer}\n\n{self.text(lang, 'bot.answer_stopped', reason=error_text(failure, lang))}"
        return answer or self.text(lang, "bot.empty_answer")
