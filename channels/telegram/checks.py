"""What `chatgate doctor` says about the Telegram bot: its settings, and whether the Bot API accepts the token.

One harmless call (getMe) with the real token, plus getWebhookInfo to say where Telegram delivers updates now and
the last delivery error it reports. Findings are (level, text) with level ok | warn | fail.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramUnauthorizedError
from aiogram.utils.token import TokenValidationError

from channels.telegram.setup import WEBHOOK_PATH
from core.settings import Settings

Finding = tuple[str, str]


def setting_findings(settings: Settings) -> list[Finding]:
    """Check the settings alone (no call made)."""
    findings: list[Finding] = [
        ("ok", f"telegram: {settings.TELEGRAM_MODE} mode, Bot API at {settings.TELEGRAM_API_BASE}")
    ]
    if settings.TELEGRAM_MODE == "webhook":
        if not settings.TELEGRAM_WEBHOOK_SECRET.get_secret_value():
            findings.append(("fail", "telegram: webhook mode needs TELEGRAM_WEBHOOK_SECRET"))
        if not settings.DOMAIN.startswith("https://"):
            findings.append(
                ("fail", f"telegram: webhook mode needs a public https DOMAIN (Telegram refuses {settings.DOMAIN})")
            )
    return findings


async def telegram_findings(settings: Settings) -> list[Finding]:
    """Return the doctor's findings about the Telegram bot ([] when TELEGRAM_BOT_TOKEN is unset)."""
    token = settings.TELEGRAM_BOT_TOKEN.get_secret_value()
    if not token:
        return []
    findings = setting_findings(settings)
    try:
        bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(settings.TELEGRAM_API_BASE)))
    except TokenValidationError:
        return [*findings, ("fail", "telegram: TELEGRAM_BOT_TOKEN is not a bot token (digits:letters)")]
    try:
        me = await bot.get_me()
        findings.append(("ok", f"telegram: the token is accepted: @{me.username}"))
        findings += _webhook_findings(settings, await bot.get_webhook_info())
    except TelegramUnauthorizedError:
        findings.append(("fail", "telegram: the Bot API refused TELEGRAM_BOT_TOKEN (401 Unauthorized)"))
    except Exception as error:  # a doctor reports, it never crashes
        findings.append(("fail", f"telegram: the Bot API did not answer: {str(error).replace(token, '***')[:200]}"))
    finally:
        await bot.session.close()
    return findings


def _webhook_findings(settings: Settings, info: object) -> list[Finding]:
    url = str(getattr(info, "url", "") or "")
    error = getattr(info, "last_error_message", None)
    findings: list[Finding] = []
    expected = f"{settings.DOMAIN}{WEBHOOK_PATH}"
    if settings.TELEGRAM_MODE == "webhook" and url != expected:
        findings.append(("warn", f"telegram: the webhook is {url or 'not set'}; `chatgate serve` sets {expected}"))
    if settings.TELEGRAM_MODE == "polling" and url:
        findings.append(("warn", f"telegram: a webhook is set ({url}); `chatgate serve` deletes it to poll"))
    if error:
        findings.append(("warn", f"telegram: Telegram's last delivery error: {error}"))
    return findings
