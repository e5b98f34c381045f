"""Routing, availability, doctor checks and the bilingual texts of the Notifier."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from core.errors import DeliveryFailed, DeliveryUnavailable, InvalidInput, InvalidPhone
from core.notify import PURPOSES, Notifier
from core.notify.messages import code_email, pick_lang
from core.services import build_services
from core.settings import Settings
from core.store.connection import Store
from tests.fakes.aliyun_sms import AliyunSmsFake
from tests.fakes.mailgun import MailgunFake
from tests.fakes.smtp import SmtpFake
from tests.fakes.tencent_sms import TencentSmsFake

CODE = "123456"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def notifier(settings: Settings, http: httpx.AsyncClient, **update: object) -> Notifier:
    return Notifier(settings.model_copy(update=update), http)


# --- texts ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_code_email_carries_title_code_validity_and_purpose(lang: str) -> None:
    actions = set()
    for purpose in PURPOSES:
        content = code_email(title="AI Hub", code=CODE, purpose=purpose, lang=pick_lang(lang, "en"), minutes=5)
        for part in (content.text, content.html):
            assert "AI Hub" in part and CODE in part and "5" in part
        actions.add(content.subject)
    assert len(actions) == len(PURPOSES)  # each purpose says what the code is for


def test_code_email_languages_differ_and_html_is_escaped() -> None:
    zh = code_email(title="<Chat&Gate>", code=CODE, purpose="register", lang="zh-CN", minutes=5)
    en = code_email(title="<Chat&Gate>", code=CODE, purpose="register", lang="en", minutes=5)
    assert "验证码" in zh.text and "5分钟内有效" in zh.text and "注册账号" in zh.subject
    assert "valid for 5 minutes" in en.text and "create your account" in en.subject
    assert "&lt;Chat&amp;Gate&gt;" in zh.html and "<Chat&Gate>" not in zh.html
    assert zh.html.startswith("<!doctype html>") and 'lang="zh-CN"' in zh.html


def test_pick_lang() -> None:
    assert pick_lang("zh", "en") == "zh-CN"
    assert pick_lang("zh-TW", "en") == "zh-CN"
    assert pick_lang("en-GB", "zh-CN") == "en"
    assert pick_lang("", "zh-CN") == "zh-CN"
    assert pick_lang("fr", "en") == "en"


async def test_language_falls_back_to_the_site_default(settings: Settings, http: httpx.AsyncClient) -> None:
    async with SmtpFake() as smtp:
        sender = notifier(settings, http, DEFAULT_LANGUAGE="en", NEXT_PUBLIC_TITLE="AI Hub", **smtp.settings_update())
        await sender.send_code("bob@example.com", CODE, "reset", "")
        assert smtp.last_to("bob@example.com").message["Subject"] == "Your AI Hub code to reset your password"


# --- routing and availability --------------------------------------------------------------------------------------
async def test_no_provider_is_delivery_unavailable(settings: Settings, http: httpx.AsyncClient) -> None:
    plain = Notifier(settings, http)
    assert not plain.email_enabled and not plain.sms_enabled
    with pytest.raises(DeliveryUnavailable):
        await plain.send_code("a@example.com", CODE, "register", "en")
    with pytest.raises(DeliveryUnavailable):
        await plain.send_code("+8613800138000", CODE, "register", "en")
    assert await plain.check() == []


async def test_routes_email_and_phone_to_their_providers(settings: Settings, http: httpx.AsyncClient) -> None:
    async with MailgunFake() as mailgun, TencentSmsFake() as tencent, AliyunSmsFake() as aliyun:
        both = notifier(settings, http, **mailgun.settings_update(), **tencent.settings_update())
        assert both.email_enabled and both.sms_enabled
        await both.send_code("a@example.com", CODE, "login", "en")
        await both.send_code("+8613800138000", "654321", "login", "en")
        assert mailgun.code_for("a@example.com") == CODE
        assert tencent.code_for("+8613800138000") == "654321"
        assert aliyun.messages == []


async def test_email_only_refuses_phones(settings: Settings, http: httpx.AsyncClient) -> None:
    async with MailgunFake() as mailgun:
        email_only = notifier(settings, http, **mailgun.settings_update())
        assert email_only.email_enabled and not email_only.sms_enabled
        with pytest.raises(DeliveryUnavailable) as failure:
            await email_only.send_code("+8613800138000", CODE, "register", "en")
        assert failure.value.data == {"kind": "sms"}


async def test_bad_arguments_are_refused_before_any_send(settings: Settings, http: httpx.AsyncClient) -> None:
    console = notifier(settings, http, NEXT_PUBLIC_EMAIL_SERVICE="console", SMS_PROVIDER="console")
    with pytest.raises(InvalidPhone):
        await console.send_code("13800138000", CODE, "register", "en")
    with pytest.raises(InvalidInput):
        await console.send_code("a@example.com", CODE, "delete-account", "en")
    with pytest.raises(InvalidInput):
        await console.send_code("a@example.com", "12ab56", "login", "en")


async def test_provider_names_are_case_insensitive(settings: Settings, http: httpx.AsyncClient) -> None:
    async with MailgunFake() as mailgun:
        update = {**mailgun.settings_update(), "NEXT_PUBLIC_EMAIL_SERVICE": " Mailgun "}
        await notifier(settings, http, **update).send_code("a@example.com", CODE, "login", "en")
        assert mailgun.code_for("a@example.com") == CODE


async def test_unknown_provider_fails_loudly(settings: Settings, http: httpx.AsyncClient) -> None:
    odd = notifier(settings, http, NEXT_PUBLIC_EMAIL_SERVICE="sendgrid", SMS_PROVIDER="uni")
    assert odd.email_enabled and odd.sms_enabled  # a typo must not silently switch codes off
    with pytest.raises(DeliveryFailed):
        await odd.send_code("a@example.com", CODE, "register", "en")
    with pytest.raises(DeliveryFailed):
        await odd.send_code("+8613800138000", CODE, "register", "en")
    problems = await odd.check()
    assert any("NEXT_PUBLIC_EMAIL_SERVICE='sendgrid'" in p for p in problems)
    assert any("SMS_PROVIDER='uni'" in p for p in problems)


async def test_incomplete_settings_fail_without_a_request(settings: Settings, http: httpx.AsyncClient) -> None:
    async with MailgunFake() as mailgun:
        update = {**mailgun.settings_update(), "MAILGUN_EMAIL_API_KEY": SecretStr("")}
        partial = notifier(settings, http, **update)
        with pytest.raises(DeliveryFailed):
            await partial.send_code("a@example.com", CODE, "register", "en")
        assert await partial.check() == ["mailgun: set MAILGUN_EMAIL_API_KEY"]


async def test_check_lists_missing_sms_settings(settings: Settings, http: httpx.AsyncClient) -> None:
    tencent = notifier(settings, http, SMS_PROVIDER="tencent", SMS_ACCESS_KEY_ID="AKID", SMS_REGION="")
    assert await tencent.check() == [
        "tencent: set SMS_ACCESS_KEY_SECRET, SMS_SIGN_NAME, SMS_TEMPLATE_CODE, SMS_SDK_APP_ID, SMS_REGION"
    ]
    bad_url = notifier(settings, http, SMS_PROVIDER="aliyun", ALIYUN_SMS_ENDPOINT="dysmsapi.aliyuncs.com")
    assert any("ALIYUN_SMS_ENDPOINT must start with https://" in p for p in await bad_url.check())


async def test_check_passes_for_complete_http_providers(settings: Settings, http: httpx.AsyncClient) -> None:
    async with MailgunFake() as mailgun, AliyunSmsFake() as aliyun:
        configured = notifier(settings, http, **mailgun.settings_update(), **aliyun.settings_update())
        assert await configured.check() == []
        assert mailgun.messages == [] and aliyun.messages == []


async def test_console_is_flagged_outside_development(settings: Settings, http: httpx.AsyncClient) -> None:
    dev = notifier(settings, http, NEXT_PUBLIC_EMAIL_SERVICE="console", SMS_PROVIDER="console")
    assert await dev.check() == []
    prod = notifier(settings, http, CHATGATE_ENV="prod", NEXT_PUBLIC_EMAIL_SERVICE="console", SMS_PROVIDER="console")
    problems = await prod.check()
    assert len(problems) == 2 and all("development only" in p for p in problems)


async def test_services_carry_a_notifier(settings: Settings, store: Store) -> None:
    async with MailgunFake() as mailgun:
        services = await build_services(settings.model_copy(update=mailgun.settings_update()), store)
        try:
            assert services.notifier.email_enabled
            await services.notifier.send_code("a@example.com", CODE, "register", "en")
            assert mailgun.code_for("a@example.com") == CODE
        finally:
            await services.http.aclose()


async def test_console_providers_are_refused_outside_dev(settings: Settings, store: Store) -> None:
    for name, value in (("NEXT_PUBLIC_EMAIL_SERVICE", "console"), ("SMS_PROVIDER", "Console")):
        production = settings.model_copy(update={"CHATGATE_ENV": "prod", name: value})
        with pytest.raises(ValueError, match="console"):
            await build_services(production, store)
    dev = settings.model_copy(update={"CHATGATE_ENV": "dev", "SMS_PROVIDER": "console"})
    services = await build_services(dev, store)
    await services.close()
