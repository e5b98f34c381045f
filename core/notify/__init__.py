"""Deliver verification codes by email and SMS through the providers the settings name.

`NEXT_PUBLIC_EMAIL_SERVICE` = smtp | mailgun | elastic | console picks the email provider, `SMS_PROVIDER` =
aliyun | tencent | console the SMS one (names are case-insensitive; empty means none). `console` logs the code
and is for development only.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import httpx

from core.errors import DeliveryUnavailable, InvalidInput, InvalidPhone
from core.notify.base import Kind, delivery_failed, hide_codes_in_http_logs
from core.notify.email import ConsoleEmail, ElasticEmail, EmailProvider, MailgunEmail, SmtpEmail
from core.notify.messages import PURPOSES, EmailContent, code_email, pick_lang
from core.notify.sms import AliyunSms, ConsoleSms, SmsProvider, TencentSms
from core.settings import Settings

__all__ = ["PURPOSES", "Notifier"]

E164 = re.compile(r"\+[1-9]\d{6,14}")
CODE = re.compile(r"\d{4,10}")

EMAIL_PROVIDERS: dict[str, type[SmtpEmail | MailgunEmail | ElasticEmail | ConsoleEmail]] = {
    "smtp": SmtpEmail,
    "mailgun": MailgunEmail,
    "elastic": ElasticEmail,
    "console": ConsoleEmail,
}
SMS_PROVIDERS: dict[str, type[AliyunSms | TencentSms | ConsoleSms]] = {
    "aliyun": AliyunSms,
    "tencent": TencentSms,
    "console": ConsoleSms,
}


class UnknownProvider:
    """A provider name that is set but not known: nothing is sent, and the doctor says why."""

    def __init__(self, kind: Kind, setting: str, value: str, known: list[str]) -> None:
        self.name = value
        self._kind = kind
        self._problem = f"{setting}={value!r} is not one of {', '.join(known)}"

    def problems(self) -> list[str]:
        return [self._problem]

    async def check(self) -> list[str]:
        return self.problems()

    async def send(self, target: str, payload: EmailContent | str) -> None:
        raise delivery_failed(self._kind, self.name, self._problem)


def _provider_name(value: str) -> str:
    return value.strip().lower()


class Notifier:
    """Send verification codes to an email address or an E.164 phone number."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient, clock: Callable[[], float] = time.time) -> None:
        self._settings = settings
        hide_codes_in_http_logs()
        self._email: EmailProvider | UnknownProvider | None = None
        self._sms: SmsProvider | UnknownProvider | None = None
        if name := _provider_name(settings.NEXT_PUBLIC_EMAIL_SERVICE):
            email_cls = EMAIL_PROVIDERS.get(name)
            self._email = (
                email_cls(settings, http)
                if email_cls
                else UnknownProvider("email", "NEXT_PUBLIC_EMAIL_SERVICE", name, list(EMAIL_PROVIDERS))
            )
        if name := _provider_name(settings.SMS_PROVIDER):
            sms_cls = SMS_PROVIDERS.get(name)
            self._sms = (
                sms_cls(settings, http, clock)
                if sms_cls
                else UnknownProvider("sms", "SMS_PROVIDER", name, list(SMS_PROVIDERS))
            )

    @property
    def email_enabled(self) -> bool:
        """True when an email provider is named (codes are then required for email targets)."""
        return self._email is not None

    @property
    def sms_enabled(self) -> bool:
        """True when an SMS provider is named (codes are then required for phone targets)."""
        return self._sms is not None

    async def send_code(self, target: str, code: str, purpose: str, lang: str) -> None:
        """Deliver `code` for `purpose`; return only once the provider accepted the message.

        Raises DeliveryUnavailable when no provider serves this kind of target, DeliveryFailed when the
        provider refused or could not be reached, InvalidPhone / InvalidInput on a malformed argument.
        """
        if purpose not in PURPOSES:
            raise InvalidInput(f"Unknown code purpose {purpose!r}.", field="purpose")
        if not CODE.fullmatch(code):
            raise InvalidInput("A verification code is digits only.", field="code")
        if "@" in target:
            await self._send_email(target, code, purpose, lang)
        elif E164.fullmatch(target):
            await self._send_sms(target, code)
        else:
            raise InvalidPhone()

    async def _send_email(self, to: str, code: str, purpose: str, lang: str) -> None:
        if self._email is None:
            raise DeliveryUnavailable("No email provider is configured.", kind="email")
        self._refuse_if_incomplete("email", self._email)
        s = self._settings
        content = code_email(
            title=s.NEXT_PUBLIC_TITLE,
            code=code,
            purpose=purpose,
            lang=pick_lang(lang, s.DEFAULT_LANGUAGE),
            minutes=max(1, s.CODE_TTL_SECONDS // 60),
        )
        await self._email.send(to, content)

    async def _send_sms(self, phone: str, code: str) -> None:
        if self._sms is None:
            raise DeliveryUnavailable("No SMS provider is configured.", kind="sms")
        self._refuse_if_incomplete("sms", self._sms)
        await self._sms.send(phone, code)

    def _refuse_if_incomplete(self, kind: Kind, provider: EmailProvider | SmsProvider | UnknownProvider) -> None:
        # A console provider outside dev mode still works: the doctor flags it, sending must not silently stop.
        problems = [] if provider.name == "console" else provider.problems()
        if problems:
            raise delivery_failed(kind, provider.name, "; ".join(problems))

    async def check(self) -> list[str]:
        """List problems of the configured providers for `chatgate doctor` (none configured is not a problem)."""
        problems: list[str] = []
        for provider in (self._email, self._sms):
            if provider is not None:
                problems.extend(await provider.check())
        return problems
