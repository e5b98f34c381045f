"""SMS delivery through the loopback Aliyun and Tencent fakes, which verify ACS3 / TC3 signatures."""

from __future__ import annotations

import hashlib
import hmac
import logging
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from core.errors import DeliveryFailed
from core.notify import Notifier
from core.notify.aliyun import acs3_headers, canonical_query, canonical_request, percent_encode
from core.notify.sms import aliyun_phone_number
from core.settings import Settings
from tests.fakes.aliyun_sms import AliyunSmsFake
from tests.fakes.tencent_sms import TencentSmsFake

CODE = "730415"
MAINLAND = "+8613800138000"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def notifier(settings: Settings, http: httpx.AsyncClient, clock: float = 0.0, **update: object) -> Notifier:
    """Build a Notifier whose clock runs `clock` seconds off real time."""
    return Notifier(settings.model_copy(update=update), http, clock=lambda: time.time() + clock)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the ACS3 signer -----------------------------------------------------------------------------------------------
def test_percent_encoding_follows_rfc3986() -> None:
    assert percent_encode('a b*~{"c":"1"}') == "a%20b%2A~%7B%22c%22%3A%221%22%7D"
    assert percent_encode("签名") == "%E7%AD%BE%E5%90%8D"


def test_canonical_request_layout() -> None:
    headers = {"x-acs-action": "SendSms", "host": "dysmsapi.aliyuncs.com"}
    canonical = canonical_request("POST", "/", {"b": "2 3", "a": "1"}, headers, "e3b0")
    assert canonical == (
        "POST\n/\na=1&b=2%203\nhost:dysmsapi.aliyuncs.com\nx-acs-action:SendSms\n\nhost;x-acs-action\ne3b0"
    )


def test_signed_headers_and_signature_are_well_formed() -> None:
    query = {"PhoneNumbers": "13800138000", "SignName": "签名"}
    headers = acs3_headers(
        access_key_id="AK",
        access_key_secret="SK",
        host="dysmsapi.aliyuncs.com",
        action="SendSms",
        version="2017-05-25",
        query=query,
        timestamp=1698314552,
        nonce="3156853299f313e23d1673dc12e1703d",
    )
    empty = hashlib.sha256(b"").hexdigest()
    assert headers["x-acs-date"] == "2023-10-26T10:02:32Z"
    assert headers["x-acs-content-sha256"] == empty
    signed = "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
    canonical = (
        f"POST\n/\n{canonical_query(query)}\nhost:dysmsapi.aliyuncs.com\nx-acs-action:SendSms\n"
        f"x-acs-content-sha256:{empty}\nx-acs-date:2023-10-26T10:02:32Z\n"
        f"x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\nx-acs-version:2017-05-25\n\n{signed}\n{empty}"
    )
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    signature = hmac.new(b"SK", to_sign.encode(), hashlib.sha256).hexdigest()
    assert headers["Authorization"] == f"ACS3-HMAC-SHA256 Credential=AK,SignedHeaders={signed},Signature={signature}"


def test_aliyun_phone_numbers() -> None:
    assert aliyun_phone_number("+8613800138000") == "13800138000"
    assert aliyun_phone_number("+14155550100") == "14155550100"
    assert aliyun_phone_number("+85291234567") == "85291234567"


# --- Aliyun --------------------------------------------------------------------------------------------------------
async def test_aliyun_delivers_mainland_and_international(settings: Settings, http: httpx.AsyncClient) -> None:
    async with AliyunSmsFake() as aliyun:
        sender = notifier(settings, http, **aliyun.settings_update())
        await sender.send_code(MAINLAND, CODE, "register", "zh-CN")
        await sender.send_code("+14155550100", "000123", "login", "en")
        assert aliyun.code_for("13800138000") == CODE
        assert aliyun.code_for("14155550100") == "000123"
        first = aliyun.messages[0]
        assert first["TemplateParam"] == '{"code":"730415"}'
        assert (first["SignName"], first["TemplateCode"]) == (aliyun.sign_name, aliyun.template_code)


async def test_aliyun_code_stays_out_of_the_http_log(
    settings: Settings, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with AliyunSmsFake() as aliyun:
        await notifier(settings, http, **aliyun.settings_update()).send_code(MAINLAND, CODE, "login", "en")
        assert aliyun.code_for("13800138000") == CODE
    assert "HTTP Request: POST" in caplog.text and "TemplateParam=%2A%2A%2A" in caplog.text
    assert CODE not in caplog.text


async def test_aliyun_tampered_secret_fails_the_signature_check(
    settings: Settings, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    async with AliyunSmsFake() as aliyun:
        update = {**aliyun.settings_update(), "SMS_ACCESS_KEY_SECRET": SecretStr(aliyun.access_key_secret + "x")}
        with pytest.raises(DeliveryFailed) as failure:
            await notifier(settings, http, **update).send_code(MAINLAND, CODE, "register", "en")
        assert aliyun.messages == []
    assert "SignatureDoesNotMatch" in caplog.text
    assert aliyun.access_key_secret not in caplog.text and CODE not in repr(failure.value)


async def test_aliyun_unknown_access_key_is_delivery_failed(
    settings: Settings, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    async with AliyunSmsFake() as aliyun:
        update = {**aliyun.settings_update(), "SMS_ACCESS_KEY_ID": "LTAI-unknown"}
        with pytest.raises(DeliveryFailed):
            await notifier(settings, http, **update).send_code(MAINLAND, CODE, "register", "en")
    assert "InvalidAccessKeyId.NotFound" in caplog.text


async def test_aliyun_business_errors_are_delivery_failed(
    settings: Settings, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    async with AliyunSmsFake() as aliyun:
        sender = notifier(settings, http, **aliyun.settings_update())
        with pytest.raises(DeliveryFailed):
            await sender.send_code("+8612345", CODE, "register", "en")
        assert "isv.MOBILE_NUMBER_ILLEGAL" in caplog.text
        aliyun.fail_next()
        with pytest.raises(DeliveryFailed):
            await sender.send_code(MAINLAND, CODE, "register", "en")
        assert "isv.BUSINESS_LIMIT_CONTROL" in caplog.text
        assert aliyun.messages == []
        await sender.send_code(MAINLAND, CODE, "register", "en")  # the limit was one-shot
        assert aliyun.code_for("13800138000") == CODE


async def test_aliyun_wrong_template_is_delivery_failed(settings: Settings, http: httpx.AsyncClient) -> None:
    async with AliyunSmsFake() as aliyun:
        update = {**aliyun.settings_update(), "SMS_TEMPLATE_CODE": "SMS_000"}
        with pytest.raises(DeliveryFailed):
            await notifier(settings, http, **update).send_code(MAINLAND, CODE, "register", "en")


async def test_aliyun_clock_skew_is_refused(
    settings: Settings, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    async with AliyunSmsFake() as aliyun:
        with pytest.raises(DeliveryFailed):
            await notifier(settings, http, clock=-3600, **aliyun.settings_update()).send_code(
                MAINLAND, CODE, "register", "en"
            )
    assert "InvalidTimeStamp.Expired" in caplog.text


async def test_aliyun_fake_rejects_a_query_changed_after_signing_and_replays(http: httpx.AsyncClient) -> None:
    async with AliyunSmsFake() as aliyun:
        query = {"PhoneNumbers": "13800138000", "SignName": aliyun.sign_name, "TemplateCode": aliyun.template_code}
        query["TemplateParam"] = '{"code":"111111"}'
        headers = acs3_headers(
            access_key_id=aliyun.access_key_id,
            access_key_secret=aliyun.access_key_secret,
            host=f"127.0.0.1:{aliyun.port}",
            action="SendSms",
            version="2017-05-25",
            query=query,
            timestamp=time.time(),
        )
        tampered = canonical_query({**query, "PhoneNumbers": "13900139000"})
        answer = await http.post(f"{aliyun.url}/?{tampered}", headers=headers)
        assert answer.status_code == 400 and answer.json()["Code"] == "SignatureDoesNotMatch"
        honest = await http.post(f"{aliyun.url}/?{canonical_query(query)}", headers=headers)
        assert honest.json()["Code"] == "OK" and honest.json()["BizId"]
        replay = await http.post(f"{aliyun.url}/?{canonical_query(query)}", headers=headers)
        assert replay.json()["Code"] == "SignatureNonceUsed"
        assert [m["code"] for m in aliyun.messages] == ["111111"]


async def test_aliyun_unreachable_is_delivery_failed(settings: Settings, http: httpx.AsyncClient) -> None:
    async with AliyunSmsFake() as aliyun:
        update = {**aliyun.settings_update(), "ALIYUN_SMS_ENDPOINT": f"http://127.0.0.1:{closed_port()}"}
    with pytest.raises(DeliveryFailed):
        await notifier(settings, http, **update).send_code(MAINLAND, CODE, "register", "en")


# --- Tencent -------------------------------------------------------------------------------------------------------
async def test_tencent_delivers_the_code(settings: Settings, http: httpx.AsyncClient) -> None:
    async with TencentSmsFake() as tencent:
        await notifier(settings, http, **tencent.settings_update()).send_code(MAINLAND, CODE, "login", "en")
        assert tencent.code_for(MAINLAND) == CODE
        assert tencent.messages[0]["TemplateParamSet"] == [CODE]


async def test_tencent_tampered_secret_fails_the_signature_check(
    settings: Settings, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    async with TencentSmsFake() as tencent:
        update = {**tencent.settings_update(), "SMS_ACCESS_KEY_SECRET": SecretStr("tampered-secret")}
        with pytest.raises(DeliveryFailed):
            await notifier(settings, http, **update).send_code(MAINLAND, CODE, "register", "en")
        assert tencent.messages == []
    assert "AuthFailure.SignatureFailure" in caplog.text and "tampered-secret" not in caplog.text


@pytest.mark.parametrize(
    ("update", "clock", "error"),
    [
        ({"SMS_ACCESS_KEY_ID": "AKIDunknown"}, 0.0, "AuthFailure.SecretIdNotFound"),
        ({}, -3600.0, "AuthFailure.SignatureExpire"),
        ({"SMS_SDK_APP_ID": "1400999999"}, 0.0, "UnauthorizedOperation.SmsSdkAppIdVerifyFail"),
        ({"SMS_SIGN_NAME": "Other"}, 0.0, "FailedOperation.SignatureIncorrectOrUnapproved"),
    ],
)
async def test_tencent_errors_are_delivery_failed(
    settings: Settings,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    update: dict[str, str],
    clock: float,
    error: str,
) -> None:
    async with TencentSmsFake() as tencent:
        sender = notifier(settings, http, clock=clock, **{**tencent.settings_update(), **update})
        with pytest.raises(DeliveryFailed):
            await sender.send_code(MAINLAND, CODE, "register", "en")
        assert tencent.messages == []
    assert error in caplog.text


async def test_tencent_per_number_failures_are_delivery_failed(
    settings: Settings, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    async with TencentSmsFake() as tencent:
        sender = notifier(settings, http, **tencent.settings_update())
        with pytest.raises(DeliveryFailed):
            await sender.send_code("+8612345", CODE, "register", "en")
        assert "InvalidParameterValue.IncorrectPhoneNumber" in caplog.text
        tencent.fail_next()
        with pytest.raises(DeliveryFailed):
            await sender.send_code(MAINLAND, CODE, "register", "en")
        assert tencent.messages == []


async def test_tencent_unreachable_is_delivery_failed(settings: Settings, http: httpx.AsyncClient) -> None:
    async with TencentSmsFake() as tencent:
        update = {**tencent.settings_update(), "TENCENT_SMS_ENDPOINT": f"http://127.0.0.1:{closed_port()}"}
    with pytest.raises(DeliveryFailed):
        await notifier(settings, http, **update).send_code(MAINLAND, CODE, "register", "en")


# --- console -------------------------------------------------------------------------------------------------------
async def test_console_sms_logs_the_code_for_development(
    settings: Settings, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="chatgate.notify")
    await notifier(settings, http, SMS_PROVIDER="console").send_code(MAINLAND, CODE, "login", "en")
    record = caplog.records[-1]
    assert record.levelno == logging.WARNING
    assert "DEVELOPMENT ONLY" in record.getMessage() and CODE in record.getMessage()


# --- doctor checks -------------------------------------------------------------------------------------------------
async def test_aliyun_check_lists_signatures_with_a_signed_call(settings: Settings, http: httpx.AsyncClient) -> None:
    async with AliyunSmsFake() as aliyun:
        assert await notifier(settings, http, **aliyun.settings_update()).check() == []
        assert aliyun.actions == ["QuerySmsSignList"] and aliyun.messages == []


async def test_aliyun_check_names_wrong_credentials_without_echoing_them(
    settings: Settings, http: httpx.AsyncClient
) -> None:
    async with AliyunSmsFake() as aliyun:
        wrong_secret = {**aliyun.settings_update(), "SMS_ACCESS_KEY_SECRET": SecretStr("wrong-secret-0123")}
        [bad_secret] = await notifier(settings, http, **wrong_secret).check()
        [bad_id] = await notifier(
            settings, http, **{**aliyun.settings_update(), "SMS_ACCESS_KEY_ID": "LTAI-nope"}
        ).check()
        late = await notifier(settings, http, clock=-3600, **aliyun.settings_update()).check()
    assert "refused SMS_ACCESS_KEY_ID / SMS_ACCESS_KEY_SECRET (SignatureDoesNotMatch)" in bad_secret
    assert "wrong-secret" not in bad_secret and aliyun.access_key_secret not in bad_secret
    assert "(InvalidAccessKeyId.NotFound)" in bad_id
    assert late == [
        f"aliyun: {aliyun.url} refused the request time (InvalidTimeStamp.Expired): check this machine's clock"
    ]
    assert aliyun.actions == []  # nothing got past the signature check


async def test_aliyun_check_looks_for_the_signature(settings: Settings, http: httpx.AsyncClient) -> None:
    async with AliyunSmsFake() as aliyun:
        aliyun.signs = {f"Other{i:02}": "AUDIT_STATE_PASS" for i in range(3)}
        [missing] = await notifier(settings, http, **aliyun.settings_update()).check()
        assert missing == "aliyun: this account has no signature 'ChatGate' (SMS_SIGN_NAME)"
        aliyun.signs = {f"Other{i:02}": "AUDIT_STATE_PASS" for i in range(60)}  # more than one page: no verdict
        assert await notifier(settings, http, **aliyun.settings_update()).check() == []
        aliyun.signs = {"ChatGate": "AUDIT_STATE_NOT_PASS"}
        [rejected] = await notifier(settings, http, **aliyun.settings_update()).check()
        assert rejected == "aliyun: SMS_SIGN_NAME 'ChatGate' is AUDIT_STATE_NOT_PASS, not approved"


async def test_aliyun_check_accepts_a_send_only_ram_user(settings: Settings, http: httpx.AsyncClient) -> None:
    async with AliyunSmsFake() as aliyun:
        aliyun.forbidden = {"QuerySmsSignList"}  # the signature was valid: the key works, listing is not allowed
        assert await notifier(settings, http, **aliyun.settings_update()).check() == []
        assert aliyun.actions == ["QuerySmsSignList"]


async def test_aliyun_check_reports_an_unreachable_endpoint(settings: Settings, http: httpx.AsyncClient) -> None:
    port = closed_port()
    async with AliyunSmsFake() as aliyun:
        update = {**aliyun.settings_update(), "ALIYUN_SMS_ENDPOINT": f"http://127.0.0.1:{port}"}
    assert await notifier(settings, http, **update).check() == [
        f"aliyun: cannot reach http://127.0.0.1:{port}: ConnectError"
    ]


async def test_tencent_check_reads_the_template_with_a_signed_call(settings: Settings, http: httpx.AsyncClient) -> None:
    async with TencentSmsFake() as tencent:
        assert await notifier(settings, http, **tencent.settings_update()).check() == []
        assert tencent.actions == ["DescribeSmsTemplateList"] and tencent.messages == []
        tencent.templates = {int(tencent.template_id): (1, 0)}  # an international template: found on the 2nd ask
        assert await notifier(settings, http, **tencent.settings_update()).check() == []
        assert tencent.actions[1:] == ["DescribeSmsTemplateList", "DescribeSmsTemplateList"]


async def test_tencent_check_names_wrong_credentials_without_echoing_them(
    settings: Settings, http: httpx.AsyncClient
) -> None:
    async with TencentSmsFake() as tencent:
        wrong_secret = {**tencent.settings_update(), "SMS_ACCESS_KEY_SECRET": SecretStr("wrong-secret-0123")}
        [bad_secret] = await notifier(settings, http, **wrong_secret).check()
        [bad_id] = await notifier(
            settings, http, **{**tencent.settings_update(), "SMS_ACCESS_KEY_ID": "AKID-nope"}
        ).check()
        [late] = await notifier(settings, http, clock=-3600, **tencent.settings_update()).check()
    assert bad_secret == (
        f"tencent: {tencent.url} refused SMS_ACCESS_KEY_ID / SMS_ACCESS_KEY_SECRET (AuthFailure.SignatureFailure)"
    )
    assert "wrong-secret" not in bad_secret and tencent.secret_key not in bad_secret
    assert "(AuthFailure.SecretIdNotFound)" in bad_id and "AuthFailure.SignatureExpire" in late
    assert tencent.actions == []


async def test_tencent_check_reports_the_template_state(settings: Settings, http: httpx.AsyncClient) -> None:
    async with TencentSmsFake() as tencent:
        template = int(tencent.template_id)
        tencent.templates = {template: (0, -1)}
        [rejected] = await notifier(settings, http, **tencent.settings_update()).check()
        assert rejected == f"tencent: template {template} is rejected 模板内容不规范"
        tencent.templates = {template: (0, 1)}
        assert await notifier(settings, http, **tencent.settings_update()).check() == [
            f"tencent: template {template} is still under review"
        ]
        tencent.templates = {}
        assert await notifier(settings, http, **tencent.settings_update()).check() == [
            f"tencent: no SMS template {template} in this account (SMS_TEMPLATE_CODE)"
        ]
        odd = await notifier(settings, http, **{**tencent.settings_update(), "SMS_TEMPLATE_CODE": "SMS_1"}).check()
        assert odd == ["tencent: SMS_TEMPLATE_CODE must be the numeric template ID from the Tencent Cloud SMS console"]


async def test_tencent_check_accepts_a_sub_account_without_read_rights(
    settings: Settings, http: httpx.AsyncClient
) -> None:
    async with TencentSmsFake() as tencent:
        tencent.forbidden = {"DescribeSmsTemplateList"}
        assert await notifier(settings, http, **tencent.settings_update()).check() == []


async def test_tencent_check_reports_an_unreachable_endpoint(settings: Settings, http: httpx.AsyncClient) -> None:
    port = closed_port()
    async with TencentSmsFake() as tencent:
        update = {**tencent.settings_update(), "TENCENT_SMS_ENDPOINT": f"http://127.0.0.1:{port}"}
    assert await notifier(settings, http, **update).check() == [
        f"tencent: cannot reach http://127.0.0.1:{port}: ConnectError"
    ]
