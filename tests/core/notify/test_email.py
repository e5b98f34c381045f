"""Email delivery through real loopback servers: SMTP (aiosmtpd), Mailgun and Elastic Email fakes."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from core.errors import DeliveryFailed
from core.notify import Notifier
from core.settings import Settings
from tests.fakes.elastic import ElasticFake
from tests.fakes.mailgun import MailgunFake
from tests.fakes.smtp import SmtpFake

CODE = "482913"
ALICE = "alice@example.com"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def closed_port() -> int:
    """Return a loopback port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def notifier(settings: Settings, http: httpx.AsyncClient, **update: object) -> Notifier:
    return Notifier(settings.model_copy(update=update), http)


# --- SMTP ----------------------------------------------------------------------------------------------------------
async def test_smtp_delivers_the_code_in_chinese(settings: Settings, http: httpx.AsyncClient) -> None:
    async with SmtpFake() as smtp:
        await notifier(settings, http, **smtp.settings_update()).send_code(ALICE, CODE, "register", "zh-CN")
        delivered = smtp.last_to(ALICE)
        assert smtp.code_for(ALICE) == CODE
        assert delivered.mail_from == smtp.from_address
        assert delivered.message["Subject"] == "ChatGate验证码：注册账号"
        assert "5分钟内有效" in delivered.text
        assert CODE in delivered.html


async def test_smtp_with_auth_over_starttls(settings: Settings, http: httpx.AsyncClient) -> None:
    async with SmtpFake(username="mailer", password="s3cret-pass", tls="starttls") as smtp:
        await notifier(settings, http, **smtp.settings_update()).send_code(ALICE, CODE, "login", "en")
        assert smtp.code_for(ALICE) == CODE
        assert smtp.last_to(ALICE).message["Subject"] == "Your ChatGate code to sign in"


async def test_smtp_with_auth_over_implicit_tls(settings: Settings, http: httpx.AsyncClient) -> None:
    async with SmtpFake(username="mailer", password="s3cret-pass", tls="tls") as smtp:
        await notifier(settings, http, **smtp.settings_update()).send_code(ALICE, CODE, "reset", "en")
        assert smtp.code_for(ALICE) == CODE


async def test_smtp_wrong_password_is_delivery_failed(
    settings: Settings, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    async with SmtpFake(username="mailer", password="s3cret-pass", tls="starttls") as smtp:
        update = {**smtp.settings_update(), "SMTP_PASSWORD": SecretStr("wrong-pass")}
        with pytest.raises(DeliveryFailed) as failure:
            await notifier(settings, http, **update).send_code(ALICE, CODE, "register", "en")
        assert smtp.messages == []
    assert "wrong-pass" not in caplog.text and "wrong-pass" not in repr(failure.value)
    assert CODE not in caplog.text


async def test_smtp_server_requiring_auth_refuses_anonymous_mail(settings: Settings, http: httpx.AsyncClient) -> None:
    async with SmtpFake(username="mailer", password="s3cret-pass") as smtp:
        update = {**smtp.settings_update(), "SMTP_USERNAME": "", "SMTP_PASSWORD": SecretStr("")}
        with pytest.raises(DeliveryFailed):
            await notifier(settings, http, **update).send_code(ALICE, CODE, "register", "en")
        assert smtp.messages == []


async def test_smtp_refused_recipient_is_delivery_failed(settings: Settings, http: httpx.AsyncClient) -> None:
    async with SmtpFake(reject=[ALICE]) as smtp:
        with pytest.raises(DeliveryFailed):
            await notifier(settings, http, **smtp.settings_update()).send_code(ALICE, CODE, "register", "en")
        assert smtp.messages == []


async def test_smtp_untrusted_certificate_is_delivery_failed(settings: Settings, http: httpx.AsyncClient) -> None:
    async with SmtpFake(tls="tls") as smtp:
        update = {**smtp.settings_update(), "SMTP_CA_FILE": ""}
        with pytest.raises(DeliveryFailed):
            await notifier(settings, http, **update).send_code(ALICE, CODE, "register", "en")
        assert smtp.messages == []


async def test_smtp_unreachable_is_delivery_failed(settings: Settings, http: httpx.AsyncClient) -> None:
    update = {"NEXT_PUBLIC_EMAIL_SERVICE": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": closed_port()}
    with pytest.raises(DeliveryFailed):
        await notifier(settings, http, SMTP_TLS="none", SMTP_EMAIL="a@b.test", **update).send_code(
            ALICE, CODE, "register", "en"
        )


async def test_smtp_check_connects_and_logs_in(settings: Settings, http: httpx.AsyncClient) -> None:
    async with SmtpFake(username="mailer", password="s3cret-pass", tls="starttls") as smtp:
        assert await notifier(settings, http, **smtp.settings_update()).check() == []
        wrong = {**smtp.settings_update(), "SMTP_PASSWORD": SecretStr("nope")}
        problems = await notifier(settings, http, **wrong).check()
        assert len(problems) == 1 and "535" in problems[0] and "nope" not in problems[0]
    assert smtp.messages == []


async def test_smtp_check_reports_unreachable_and_missing(settings: Settings, http: httpx.AsyncClient) -> None:
    port = closed_port()
    update = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_TLS": "none", "SMTP_EMAIL": "a@b.test"}
    problems = await notifier(settings, http, NEXT_PUBLIC_EMAIL_SERVICE="smtp", **update).check()
    assert len(problems) == 1 and f"127.0.0.1:{port}" in problems[0]
    missing = await notifier(settings, http, NEXT_PUBLIC_EMAIL_SERVICE="smtp").check()
    assert missing == ["smtp: set SMTP_HOST, SMTP_EMAIL"]


# --- Mailgun -------------------------------------------------------------------------------------------------------
async def test_mailgun_delivers_the_code(settings: Settings, http: httpx.AsyncClient) -> None:
    async with MailgunFake() as mailgun:
        await notifier(settings, http, **mailgun.settings_update()).send_code(ALICE, CODE, "bind", "en-US")
        message = mailgun.last_to(ALICE)
        assert mailgun.code_for(ALICE) == CODE
        assert message["from"] == f"ChatGate <noreply@{mailgun.domain}>"
        assert message["subject"] == "Your ChatGate code to link this address to your account"
        assert CODE in message["html"]


async def test_mailgun_uses_the_configured_sender(settings: Settings, http: httpx.AsyncClient) -> None:
    async with MailgunFake() as mailgun:
        update = {**mailgun.settings_update(), "MAILGUN_SENDER": "codes@chatgate.test"}
        await notifier(settings, http, **update).send_code(ALICE, CODE, "login", "en")
        assert mailgun.last_to(ALICE)["from"] == "ChatGate <codes@chatgate.test>"


async def test_mailgun_wrong_key_is_delivery_failed(
    settings: Settings, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    async with MailgunFake() as mailgun:
        update = {**mailgun.settings_update(), "MAILGUN_EMAIL_API_KEY": SecretStr("key-wrong-wrong")}
        with pytest.raises(DeliveryFailed) as failure:
            await notifier(settings, http, **update).send_code(ALICE, CODE, "register", "en")
        assert mailgun.messages == []
    assert "Forbidden" in caplog.text  # the plain-text 401 body, seen by the operator
    assert "key-wrong-wrong" not in caplog.text and "key-wrong-wrong" not in repr(failure.value)
    assert CODE not in caplog.text
    assert failure.value.code == "delivery_failed"


async def test_mailgun_unknown_domain_is_delivery_failed(settings: Settings, http: httpx.AsyncClient) -> None:
    async with MailgunFake() as mailgun:
        update = {**mailgun.settings_update(), "MAILGUN_EMAIL_DOMAIN": "other.test"}
        with pytest.raises(DeliveryFailed):
            await notifier(settings, http, **update).send_code(ALICE, CODE, "register", "en")
        assert mailgun.messages == []


async def test_mailgun_unreachable_is_delivery_failed(settings: Settings, http: httpx.AsyncClient) -> None:
    async with MailgunFake() as mailgun:
        update = mailgun.settings_update()
    with pytest.raises(DeliveryFailed):
        await notifier(settings, http, **update).send_code(ALICE, CODE, "register", "en")


# --- Elastic Email -------------------------------------------------------------------------------------------------
async def test_elastic_delivers_the_code(settings: Settings, http: httpx.AsyncClient) -> None:
    async with ElasticFake() as elastic:
        await notifier(settings, http, **elastic.settings_update()).send_code(ALICE, CODE, "reset", "zh")
        message = elastic.last_to(ALICE)
        assert elastic.code_for(ALICE) == CODE
        assert message["from"] == elastic.sender and message["fromName"] == "ChatGate"
        assert message["isTransactional"] == "true"
        assert message["subject"] == "ChatGate验证码：重置密码"


async def test_elastic_success_false_is_delivery_failed_despite_http_200(
    settings: Settings, http: httpx.AsyncClient
) -> None:
    async with ElasticFake() as elastic:
        raw = await http.post(f"{elastic.url}/v2/email/send", data={"apikey": "bad"})
        assert raw.status_code == 200 and raw.json() == {"success": False, "error": "Incorrect apikey"}
        update = {**elastic.settings_update(), "ELASTICE_EMAIL_API_KEY": SecretStr("bad")}
        with pytest.raises(DeliveryFailed):
            await notifier(settings, http, **update).send_code(ALICE, CODE, "register", "en")
        unverified = {**elastic.settings_update(), "ELASTICE_EMAIL_SENDER": "someone@else.test"}
        with pytest.raises(DeliveryFailed):
            await notifier(settings, http, **unverified).send_code(ALICE, CODE, "register", "en")
        assert elastic.messages == []


async def test_elastic_unreachable_is_delivery_failed(settings: Settings, http: httpx.AsyncClient) -> None:
    async with ElasticFake() as elastic:
        update = elastic.settings_update()
    with pytest.raises(DeliveryFailed):
        await notifier(settings, http, **update).send_code(ALICE, CODE, "register", "en")


# --- console -------------------------------------------------------------------------------------------------------
async def test_console_email_logs_the_code_for_development(
    settings: Settings, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="chatgate.notify")
    await notifier(settings, http, NEXT_PUBLIC_EMAIL_SERVICE="console").send_code(ALICE, CODE, "login", "en")
    record = caplog.records[-1]
    assert record.levelno == logging.WARNING
    assert "DEVELOPMENT ONLY" in record.getMessage() and CODE in record.getMessage()


# --- doctor checks of the HTTP providers ---------------------------------------------------------------------------
async def test_mailgun_check_reads_the_domain(settings: Settings, http: httpx.AsyncClient) -> None:
    async with MailgunFake() as mailgun:
        assert await notifier(settings, http, **mailgun.settings_update()).check() == []
        assert mailgun.domain_reads == 1 and mailgun.messages == []  # one read, nothing sent


async def test_mailgun_check_names_a_wrong_key_without_echoing_it(settings: Settings, http: httpx.AsyncClient) -> None:
    async with MailgunFake() as mailgun:
        update = {**mailgun.settings_update(), "MAILGUN_EMAIL_API_KEY": SecretStr("key-wrong-0123456789")}
        problems = await notifier(settings, http, **update).check()
    assert len(problems) == 1 and "refused MAILGUN_EMAIL_API_KEY (HTTP 401)" in problems[0]
    assert "key-wrong" not in problems[0] and mailgun.domain_reads == 0


async def test_mailgun_check_names_an_unknown_or_unusable_domain(settings: Settings, http: httpx.AsyncClient) -> None:
    async with MailgunFake() as mailgun:
        update = {**mailgun.settings_update(), "MAILGUN_EMAIL_DOMAIN": "mg.other.test"}
        [unknown] = await notifier(settings, http, **update).check()
        assert "no domain 'mg.other.test'" in unknown and "HTTP 404" in unknown
        mailgun.state = "unverified"
        [unverified] = await notifier(settings, http, **mailgun.settings_update()).check()
        assert "unverified" in unverified
        mailgun.state = "disabled"
        [disabled] = await notifier(settings, http, **mailgun.settings_update()).check()
        assert "disabled" in disabled


async def test_mailgun_check_reports_an_unreachable_host(settings: Settings, http: httpx.AsyncClient) -> None:
    async with MailgunFake() as mailgun:
        update = mailgun.settings_update()
    port = closed_port()
    update["MAILGUN_API_BASE"] = f"http://127.0.0.1:{port}"
    problems = await notifier(settings, http, **update).check()
    assert problems == [f"mailgun: cannot reach http://127.0.0.1:{port}: ConnectError"]


async def test_elastic_check_loads_the_account(settings: Settings, http: httpx.AsyncClient) -> None:
    async with ElasticFake() as elastic:
        assert await notifier(settings, http, **elastic.settings_update()).check() == []
        assert elastic.account_loads == 1 and elastic.messages == []


async def test_elastic_check_names_a_wrong_key_and_never_logs_a_key(
    settings: Settings, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with ElasticFake() as elastic:
        assert await notifier(settings, http, **elastic.settings_update()).check() == []
        wrong = "ELASTIC-WRONG-KEY-0000"
        update = {**elastic.settings_update(), "ELASTICE_EMAIL_API_KEY": SecretStr(wrong)}
        problems = await notifier(settings, http, **update).check()
    assert len(problems) == 1 and "refused ELASTICE_EMAIL_API_KEY: Incorrect apikey" in problems[0]
    assert wrong not in problems[0]
    assert "account/load?apikey=%2A%2A%2A" in caplog.text  # httpx logged the request, with the key masked
    assert elastic.api_key not in caplog.text and wrong not in caplog.text


async def test_elastic_check_reports_an_unreachable_host(settings: Settings, http: httpx.AsyncClient) -> None:
    async with ElasticFake() as elastic:
        update = elastic.settings_update()
    port = closed_port()
    update["ELASTIC_EMAIL_API_BASE"] = f"http://127.0.0.1:{port}"
    problems = await notifier(settings, http, **update).check()
    assert problems == [f"elastic: cannot reach http://127.0.0.1:{port}: ConnectError"]
    assert elastic.api_key not in problems[0]


async def test_http_checks_give_up_after_the_provider_timeout(settings: Settings, http: httpx.AsyncClient) -> None:
    release = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)  # take the request, answer nothing until the test ends
        await release.wait()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with MailgunFake() as mailgun:
            update = {**mailgun.settings_update(), "MAILGUN_API_BASE": f"http://127.0.0.1:{port}"}
        started = time.monotonic()
        problems = await notifier(settings, http, MODERATION_TIMEOUT_SECONDS=0.3, **update).check()
        assert problems == [f"mailgun: cannot reach http://127.0.0.1:{port}: ReadTimeout"]
        assert time.monotonic() - started < 2
    finally:
        release.set()
        server.close()
        await server.wait_closed()
