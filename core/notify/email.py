"""Email providers: SMTP (aiosmtplib), Mailgun, Elastic Email v2 and the development console.

Protocol facts: shared/docs/PROTOCOLS.md section 4. A message counts as sent only when the provider accepted it.
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any, Protocol
from urllib.parse import quote

import aiosmtplib
import httpx

from core.notify.base import (
    bad_base_url,
    delivery_failed,
    excerpt,
    json_object,
    log,
    missing_settings,
    origin,
    post,
    probe,
)
from core.notify.messages import EmailContent
from core.settings import Settings


class EmailProvider(Protocol):
    name: str

    def problems(self) -> list[str]: ...

    async def check(self) -> list[str]: ...

    async def send(self, to: str, content: EmailContent) -> None: ...


class SmtpEmail:
    """Send through an SMTP server; sent means the server accepted the recipient and the data."""

    name = "smtp"

    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self._settings = settings

    def problems(self) -> list[str]:
        found = missing_settings(self._settings, self.name, ("SMTP_HOST", "SMTP_EMAIL"))
        if self._settings.SMTP_USERNAME and not self._settings.SMTP_PASSWORD.get_secret_value():
            found.append("smtp: SMTP_USERNAME is set but SMTP_PASSWORD is empty")
        return found

    def _client_options(self) -> dict[str, Any]:
        s = self._settings
        # aiosmtplib upgrades to STARTTLS on its own when start_tls is None; "none" must say False.
        return {
            "hostname": s.SMTP_HOST,
            "port": s.SMTP_PORT,
            "use_tls": s.SMTP_TLS == "tls",
            "start_tls": s.SMTP_TLS == "starttls",
            "timeout": s.SMTP_TIMEOUT,
            "cert_bundle": s.SMTP_CA_FILE or None,
        }

    def _message(self, to: str, content: EmailContent) -> EmailMessage:
        s = self._settings
        message = EmailMessage()
        message["From"] = formataddr((s.NEXT_PUBLIC_TITLE, s.SMTP_EMAIL))
        message["To"] = to
        message["Subject"] = content.subject
        message["Message-ID"] = make_msgid(domain=s.SMTP_EMAIL.rpartition("@")[2] or None)
        message.set_content(content.text, cte="quoted-printable")
        message.add_alternative(content.html, subtype="html", cte="quoted-printable")
        return message

    async def send(self, to: str, content: EmailContent) -> None:
        s = self._settings
        username = s.SMTP_USERNAME or None  # log in only when a username is set
        password = s.SMTP_PASSWORD.get_secret_value() if username else None
        try:
            errors, _ = await aiosmtplib.send(
                self._message(to, content), username=username, password=password, **self._client_options()
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            reasons = "; ".join(f"{err.code} {err.message}" for err in exc.recipients)
            raise delivery_failed("email", self.name, f"recipient refused: {reasons}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise delivery_failed("email", self.name, f"{exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise delivery_failed("email", self.name, f"unreachable: {type(exc).__name__}: {exc}") from exc
        if errors:
            raise delivery_failed("email", self.name, f"recipient refused: {errors}")

    async def check(self) -> list[str]:
        """Connect, EHLO (after STARTTLS when asked) and log in when a username is set."""
        found = self.problems()
        if found:
            return found
        s = self._settings
        client = aiosmtplib.SMTP(**self._client_options())
        try:
            await client.connect()
            await client.ehlo()
            if s.SMTP_USERNAME:
                await client.login(s.SMTP_USERNAME, s.SMTP_PASSWORD.get_secret_value())
        except aiosmtplib.SMTPResponseException as exc:
            return [f"smtp: {s.SMTP_HOST}:{s.SMTP_PORT} answered {exc.code} {exc.message}"]
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
            return [f"smtp: cannot talk to {s.SMTP_HOST}:{s.SMTP_PORT}: {type(exc).__name__}: {exc}"]
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except aiosmtplib.SMTPException:
                    client.close()
        return []


class MailgunEmail:
    """Mailgun messages API; sent means HTTP 200 with a message id."""

    name = "mailgun"

    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http

    def problems(self) -> list[str]:
        s = self._settings
        required = ("MAILGUN_EMAIL_DOMAIN", "MAILGUN_EMAIL_API_KEY")
        return missing_settings(s, self.name, required) + bad_base_url(
            self.name, "MAILGUN_API_BASE", s.MAILGUN_API_BASE
        )

    async def check(self) -> list[str]:
        """Read the sending domain (GET /v3/domains/{domain}): proves the key, the region and the domain."""
        found = self.problems()
        if found:
            return found
        s = self._settings
        base = s.MAILGUN_API_BASE.rstrip("/")
        url = f"{base}/v3/domains/{quote(s.MAILGUN_EMAIL_DOMAIN, safe='')}"
        auth = ("api", s.MAILGUN_EMAIL_API_KEY.get_secret_value())
        answer = await probe(self._http, self.name, "GET", url, s, auth=auth)
        if isinstance(answer, str):
            return [answer]
        return _mailgun_domain_problems(answer, s.MAILGUN_EMAIL_DOMAIN, origin(base))

    async def send(self, to: str, content: EmailContent) -> None:
        s = self._settings
        sender = s.MAILGUN_SENDER or f"noreply@{s.MAILGUN_EMAIL_DOMAIN}"
        form = {
            "from": formataddr((s.NEXT_PUBLIC_TITLE, sender)),
            "to": to,
            "subject": content.subject,
            "text": content.text,
            "html": content.html,
        }
        url = f"{s.MAILGUN_API_BASE.rstrip('/')}/v3/{s.MAILGUN_EMAIL_DOMAIN}/messages"
        auth = ("api", s.MAILGUN_EMAIL_API_KEY.get_secret_value())
        response = await post(self._http, "email", self.name, url, data=form, auth=auth)
        if response.status_code == 200 and json_object(response).get("id"):
            return
        raise delivery_failed("email", self.name, excerpt(response))


class ElasticEmail:
    """Elastic Email v2 send; it always answers HTTP 200, so sent means `success: true`."""

    name = "elastic"

    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http

    def problems(self) -> list[str]:
        s = self._settings
        required = ("ELASTICE_EMAIL_API_KEY", "ELASTICE_EMAIL_SENDER")
        return missing_settings(s, self.name, required) + bad_base_url(
            self.name, "ELASTIC_EMAIL_API_BASE", s.ELASTIC_EMAIL_API_BASE
        )

    async def check(self) -> list[str]:
        """Load the account (GET /v2/account/load): proves the key; the key is masked in the httpx log."""
        found = self.problems()
        if found:
            return found
        s = self._settings
        base = s.ELASTIC_EMAIL_API_BASE.rstrip("/")
        params = {"apikey": s.ELASTICE_EMAIL_API_KEY.get_secret_value()}
        answer = await probe(self._http, self.name, "GET", f"{base}/v2/account/load", s, params=params)
        if isinstance(answer, str):
            return [answer]
        body = json_object(answer)
        if answer.status_code == 200 and body.get("success") is True:
            return []
        if body.get("success") is False:
            # The error text is Elastic's ("Incorrect apikey"); the answer to a good key would carry the key itself.
            return [f"elastic: {origin(base)} refused ELASTICE_EMAIL_API_KEY: {str(body.get('error'))[:200]}"]
        return [f"elastic: unexpected answer from {origin(base)}: HTTP {answer.status_code}"]

    async def send(self, to: str, content: EmailContent) -> None:
        s = self._settings
        form = {
            "apikey": s.ELASTICE_EMAIL_API_KEY.get_secret_value(),
            "from": s.ELASTICE_EMAIL_SENDER,
            "fromName": s.NEXT_PUBLIC_TITLE,
            "to": to,
            "subject": content.subject,
            "bodyHtml": content.html,
            "bodyText": content.text,
            "isTransactional": "true",
        }
        url = f"{s.ELASTIC_EMAIL_API_BASE.rstrip('/')}/v2/email/send"
        response = await post(self._http, "email", self.name, url, data=form)
        if response.status_code == 200 and json_object(response).get("success") is True:
            return
        raise delivery_failed("email", self.name, excerpt(response))


def _mailgun_domain_problems(answer: httpx.Response, domain: str, where: str) -> list[str]:
    """Read Mailgun's answer to GET /v3/domains/{domain}: 401 bad key, 404 unknown domain, else its state."""
    # Accounts, keys and domains live in one region: a refusal is often the other region's host.
    region = (
        "keys and domains belong to one region: MAILGUN_API_BASE is https://api.mailgun.net (US) "
        "or https://api.eu.mailgun.net (EU)"
    )
    if answer.status_code == 401:
        return [f"mailgun: {where} refused MAILGUN_EMAIL_API_KEY (HTTP 401); {region}"]
    if answer.status_code == 404:
        return [f"mailgun: {where} knows no domain {domain!r} in this account (HTTP 404); {region}"]
    details = json_object(answer).get("domain")
    if answer.status_code != 200 or not isinstance(details, dict):
        return [f"mailgun: unexpected answer from {where}: HTTP {answer.status_code}"]
    state = str(details.get("state") or "")
    if details.get("is_disabled") or state == "disabled":
        return [f"mailgun: the domain {domain!r} is disabled in Mailgun"]
    if state == "unverified":
        return [f"mailgun: the domain {domain!r} is unverified: Mailgun sends from it once its DNS records verify"]
    return []


class ConsoleEmail:
    """Development only: write the email to the log instead of sending it."""

    name = "console"

    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self._settings = settings

    def problems(self) -> list[str]:
        if self._settings.is_dev:
            return []
        return ["email: the console provider logs codes and is for development only; choose a real provider"]

    async def check(self) -> list[str]:
        return self.problems()

    async def send(self, to: str, content: EmailContent) -> None:
        # The one place a code is ever logged, by design: a developer reads it from the console.
        log.warning("[DEVELOPMENT ONLY: console email] to=%s subject=%s\n%s", to, content.subject, content.text)
