"""The command set both bots share: parsing what the user typed, and running a command for an account.

Commands (slash form, then the words a WeChat user types, Chinese or English):
  /start [payload]        a deep-link payload is a bind code: the identity moves onto that web account
  /help    帮助 help       /new     新对话 new        /model [id]  模型 model [id]
  /usage   用量 usage      /plan    套餐 plan         /redeem <code>  兑换 redeem <code>
  /bind <code>  绑定 bind <code>    /notice  公告 notice      /login   登录 login
A word counts only when it is the whole message (or the word and one code-like argument), so "帮助我写一首诗" is a
chat message. `run_command` answers with a `CommandReply`: text, optional choices (value, label) a bot shows as
buttons or a list, and an optional link. Errors come back as replies in the user's language, never raised.
The bots render replies in their medium; the work is core's (channel seam, identities, quotas, sign-in links).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from channels.messages import CATALOGUE, error_text
from channels.views import bound_account, model_choices, redeemed_text, usage_text
from core.accounts.channel_identities import bind_with_code
from core.accounts.login_links import issue_login_link
from core.billing.subscriptions import current_plan
from core.chat.channel import channel_model, choose_channel_model, new_channel_conversation
from core.errors import CoreError, InvalidBindCode, ModelNotFound, ModelNotInPlan, NotFound
from core.relay.catalogue import list_models
from core.site.notice import get_notice, mark_notice_seen

if TYPE_CHECKING:
    from core.accounts.users import User
    from core.services import Services

SLASH_COMMANDS = frozenset({"start", "help", "new", "model", "usage", "plan", "redeem", "bind", "notice", "login"})
COMMAND_WORDS: dict[str, str] = {
    "帮助": "help", "help": "help", "新对话": "new", "new": "new", "模型": "model", "model": "model",
    "用量": "usage", "usage": "usage", "套餐": "plan", "plan": "plan", "兑换": "redeem", "redeem": "redeem",
    "绑定": "bind", "bind": "bind", "公告": "notice", "notice": "notice", "登录": "login", "login": "login",
}  # fmt: skip
TAKES_ARGUMENT = frozenset({"model", "redeem", "bind"})
ARGUMENT_MAX_CHARS = 64
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/\-]{0,63}")
_SLASH = re.compile(r"/([A-Za-z_]+)(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?", re.DOTALL)


@dataclass(frozen=True)
class Command:
    name: str
    argument: str


@dataclass(frozen=True)
class CommandReply:
    text: str
    choices: tuple[tuple[str, str], ...] = ()  # (value, label), e.g. a model id and its remaining quota
    link: str | None = None


def parse_command(text: str, *, bot_username: str | None = None) -> Command | None:
    """Return the command in a message, or None when it is a chat message.

    `bot_username`: a slash command addressed to another bot ("/new@OtherBot") is then not ours (None).
    """
    stripped = text.strip()
    if stripped.startswith("/"):
        match = _SLASH.fullmatch(stripped)
        if match is None or match.group(1).lower() not in SLASH_COMMANDS:
            return None
        if match.group(2) and bot_username and match.group(2).lower() != bot_username.lower():
            return None
        return Command(match.group(1).lower(), (match.group(3) or "").strip()[:ARGUMENT_MAX_CHARS])
    lowered = stripped.lower()
    if lowered in COMMAND_WORDS:
        return Command(COMMAND_WORDS[lowered], "")
    for word, name in COMMAND_WORDS.items():
        if name not in TAKES_ARGUMENT or not lowered.startswith(word):
            continue
        rest = stripped[len(word) :]
        if word.isascii() and not rest[:1].isspace():
            continue  # "modelling" is a word of its own
        if _TOKEN.fullmatch(rest.strip()):
            return Command(name, rest.strip())
    return None


@dataclass(frozen=True)
class _Call:
    services: Services
    user: User
    channel: str
    lang: str
    thread: str = ""

    def text(self, key: str, **params: object) -> str:
        return CATALOGUE.text(self.lang, key, **params)


async def run_command(
    services: Services, user: User, channel: str, command: Command, *, lang: str, thread: str = ""
) -> CommandReply:
    """Run a parsed command for `user` in `channel` (`thread`: a place in it with its own conversation, such as a
    Telegram group); answer in `lang` (errors included)."""
    handler = _HANDLERS.get(command.name)
    if handler is None:
        return CommandReply(CATALOGUE.text(lang, "bot.help"))
    try:
        return await handler(_Call(services, user, channel, lang, thread), command.argument.strip())
    except CoreError as error:
        return CommandReply(error_text(error, lang))


async def _help(call: _Call, argument: str) -> CommandReply:
    return CommandReply(call.text("bot.help"))


async def _start(call: _Call, argument: str) -> CommandReply:
    welcome = call.text("bot.welcome", site=call.services.settings.NEXT_PUBLIC_TITLE)
    if argument:
        bound = await _bind(call, argument)
        return CommandReply(f"{bound.text}\n\n{welcome}")
    return CommandReply(f"{welcome}\n\n{call.text('bot.help')}")


async def _new(call: _Call, argument: str) -> CommandReply:
    await new_channel_conversation(call.services, call.user, call.channel, call.thread)
    return CommandReply(call.text("bot.new"))


async def _model(call: _Call, argument: str) -> CommandReply:
    services, user = call.services, call.user
    if argument:
        return await _choose_model(call, argument)
    choices = await model_choices(services, user, call.lang)
    if not choices:
        return CommandReply(call.text("bot.model_none"))
    current = await channel_model(services, user, call.channel, call.thread)
    text = f"{call.text('bot.model_current', model=current)}\n{call.text('bot.model_pick')}"
    return CommandReply(text, choices=choices)


async def _choose_model(call: _Call, argument: str) -> CommandReply:
    wanted = argument.lower()
    models = [model for model in await list_models(call.services.store) if model.enabled and model.chats]
    found = next((m for m in models if m.id.lower() == wanted), None) or next(
        (m for m in models if m.name.lower() == wanted), None
    )
    if found is None:
        raise ModelNotFound(model=argument)
    plan = await current_plan(call.services.store, call.user.id, call.services.clock())
    if found.id not in plan.limits:
        raise ModelNotInPlan(model=found.id)
    await choose_channel_model(call.services, call.user, call.channel, found.id)
    return CommandReply(call.text("bot.model_chosen", model=found.name))


async def _usage(call: _Call, argument: str) -> CommandReply:
    return CommandReply(await usage_text(call.services, call.user, call.lang))


async def _plan(call: _Call, argument: str) -> CommandReply:
    services = call.services
    plan = await current_plan(services.store, call.user.id, services.clock())
    title = plan.title or plan.name
    if not services.settings.DOMAIN:  # no public address to link to (DOMAIN unset)
        return CommandReply(call.text("bot.plan_no_link", plan=title))
    link = await issue_login_link(services.store, services.settings, call.user.id, "/pricing")
    return CommandReply(call.text("bot.plan", plan=title), link=link)


async def _login(call: _Call, argument: str) -> CommandReply:
    if not call.services.settings.DOMAIN:
        return CommandReply(call.text("bot.login_no_link"))
    link = await issue_login_link(call.services.store, call.services.settings, call.user.id, "/")
    return CommandReply(call.text("bot.login"), link=link)


async def _redeem(call: _Call, argument: str) -> CommandReply:
    if not argument:
        return CommandReply(call.text("bot.redeem_usage"))
    return CommandReply(await redeemed_text(call.services, call.user, argument, call.lang))


async def _bind(call: _Call, argument: str) -> CommandReply:
    if not argument:
        return CommandReply(call.text("bot.bind_usage"))
    services = call.services
    external_id = await services.store.redis.hget(services.store.keys.channel_identities(call.user.id), call.channel)
    if not external_id:
        raise NotFound("This account has no identity in this channel.")
    if not argument.isdigit():
        raise InvalidBindCode(field="code")
    user = await bind_with_code(
        services.store, services.settings, call.channel, str(external_id), argument, now=services.clock()
    )
    return CommandReply(call.text("bot.bound", account=bound_account(user)))


async def _notice(call: _Call, argument: str) -> CommandReply:
    notice = await get_notice(call.services.store)
    if notice is None:
        return CommandReply(call.text("bot.notice_none"))
    await mark_notice_seen(call.services.store, call.user.id, notice.version)
    return CommandReply(notice.markdown)


_HANDLERS: dict[str, Callable[[_Call, str], Awaitable[CommandReply]]] = {
    "help": _help, "start": _start, "new": _new, "model": _model, "usage": _usage, "plan": _plan,
    "login": _login, "redeem": _redeem, "bind": _bind, "notice": _notice,
}  # fmt: skip
