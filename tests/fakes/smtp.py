"""A real SMTP server (aiosmtpd) on 127.0.0.1 at a free port, in the test's own event loop.

    async with SmtpFake(username="u", password="p", tls="starttls") as smtp:
        settings = settings.model_copy(update=smtp.settings_update())
        ...
        code = smtp.code_for("alice@example.com")     # the 6-digit code of the last message to alice

Options: `username`/`password` require AUTH before MAIL FROM (530 otherwise, 535 on a wrong password);
`tls` = "none" | "starttls" | "tls" (a self-signed certificate for 127.0.0.1; its PEM path is `.ca_file`, which
`settings_update()` passes as SMTP_CA_FILE); `reject` = addresses answered with 550 at RCPT TO.
`.messages` holds `Delivered(mail_from, rcpt_tos, message)` with a parsed `email.message.EmailMessage`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import shutil
import ssl
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, cast

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from tests.fakes._loopback import extract_code

TlsMode = Literal["none", "starttls", "tls"]


@dataclass(frozen=True)
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        """The text/plain body, decoded."""
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None, "the message has no text/plain part"
        return cast(EmailMessage, part).get_content()

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None, "the message has no text/html part"
        return cast(EmailMessage, part).get_content()


def write_self_signed(directory: Path) -> tuple[Path, Path]:
    """Write a certificate (127.0.0.1, localhost) and its key; return (cert_path, key_path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chatgate-fake-smtp")])
    now = dt.datetime.now(dt.UTC)
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_path.write_bytes(key_bytes)
    return cert_path, key_path


class _Handler:
    def __init__(self, fake: SmtpFake) -> None:
        self._fake = fake

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self._fake.username and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.lower() in self._fake.reject:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        message = cast(EmailMessage, message_from_bytes(raw, policy=policy.default))
        self._fake.messages.append(Delivered(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 2.0.0 Ok: queued"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        fake = self._fake
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode() == fake.username and auth_data.password.decode() == fake.password
        )
        return AuthResult(success=ok, handled=False)


class SmtpFake:
    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        tls: TlsMode = "none",
        reject: Iterable[str] = (),
        from_address: str = "noreply@chatgate.test",
    ) -> None:
        self.username = username
        self.password = password
        self.tls: TlsMode = tls
        self.reject = {address.lower() for address in reject}
        self.from_address = from_address
        self.messages: list[Delivered] = []
        self.host = "127.0.0.1"
        self.port = 0
        self.ca_file = ""
        self._server: asyncio.Server | None = None
        self._tmp: Path | None = None

    def settings_update(self) -> dict[str, Any]:
        """Return the settings that point ChatGate's SMTP provider at this server."""
        return {
            "NEXT_PUBLIC_EMAIL_SERVICE": "smtp",
            "SMTP_HOST": self.host,
            "SMTP_PORT": self.port,
            "SMTP_TLS": self.tls,
            "SMTP_EMAIL": self.from_address,
            "SMTP_USERNAME": self.username or "",
            "SMTP_PASSWORD": SecretStr(self.password or ""),
            "SMTP_CA_FILE": self.ca_file,
        }

    def last_to(self, address: str) -> Delivered:
        """Return the last message delivered to `address`."""
        for delivered in reversed(self.messages):
            if address.lower() in (rcpt.lower() for rcpt in delivered.rcpt_tos):
                return delivered
        raise AssertionError(f"no message to {address}")

    def code_for(self, address: str) -> str:
        """Return the 6-digit code in the text of the last message to `address`."""
        return extract_code(self.last_to(address).text)

    def _tls_context(self) -> ssl.SSLContext | None:
        if self.tls == "none":
            return None
        self._tmp = Path(tempfile.mkdtemp(prefix="fake-smtp-"))
        cert, key = write_self_signed(self._tmp)
        self.ca_file = str(cert)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        return context

    async def start(self) -> Self:
        loop = asyncio.get_running_loop()
        context = self._tls_context()
        handler = _Handler(self)

        def protocol() -> SMTP:
            return SMTP(
                handler,
                hostname="fake-smtp.chatgate.test",
                tls_context=context if self.tls == "starttls" else None,
                # AUTH only after STARTTLS in starttls mode; "tls" is encrypted from the start.
                auth_require_tls=self.tls == "starttls",
                authenticator=handler.authenticate,
                loop=loop,
            )

        ssl_context = context if self.tls == "tls" else None
        self._server = await loop.create_server(protocol, self.host, 0, ssl=ssl_context)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
