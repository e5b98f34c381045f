"""SMS providers: Aliyun Dysms (ACS3 signature), Tencent Cloud SMS (TC3 signature) and the development console.

Protocol facts: shared/docs/PROTOCOLS.md sections 2 and 5. A message counts as sent only when the provider
accepted it: Aliyun `Code == "OK"`, Tencent `SendStatusSet[0].Code == "Ok"` with no `Response.Error`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Protocol

import httpx

from core.notify.aliyun import acs3_headers, canonical_query
from core.notify.base import bad_base_url, delivery_failed, excerpt, json_object, log, missing_settings, post
from core.settings import Settings
from core.tc3 import tc3_headers

Clock = Callable[[], float]
COMMON_SMS_SETTINGS = ("SMS_ACCESS_KEY_ID", "SMS_ACCESS_KEY_SECRET", "SMS_SIGN_NAME", "SMS_TEMPLATE_CODE")


class SmsProvider(Protocol):
    name: str

    def problems(self) -> list[str]: ...

    async def check(self) -> list[str]: ...

    async def send(self, phone: str, code: str) -> None: ...


def aliyun_phone_number(e164: str) -> str:
    """Format an E.164 number for Aliyun: mainland numbers bare, others as international digits without '+'."""
    digits = e164.removeprefix("+")
    return digits[2:] if digits.startswith("86") else digits


class AliyunSms:
    """Aliyun Dysms SendSms 2017-05-25; the parameters travel in the signed query string, the body is empty."""

    name = "aliyun"
    action, version = "SendSms", "2017-05-25"

    def __init__(self, settings: Settings, http: httpx.AsyncClient, clock: Clock) -> None:
        self._settings = settings
        self._http = http
        self._clock = clock

    def problems(self) -> list[str]:
        s = self._settings
        return missing_settings(s, self.name, COMMON_SMS_SETTINGS) + bad_base_url(
            self.name, "ALIYUN_SMS_ENDPOINT", s.ALIYUN_SMS_ENDPOINT
        )

    async def check(self) -> list[str]:
        return self.problems()

    async def send(self, phone: str, code: str) -> None:
        s = self._settings
        query = {
            "PhoneNumbers": aliyun_phone_number(phone),
            "SignName": s.SMS_SIGN_NAME,
            "TemplateCode": s.SMS_TEMPLATE_CODE,
            "TemplateParam": json.dumps({"code": code}, separators=(",", ":")),
        }
        base = s.ALIYUN_SMS_ENDPOINT.rstrip("/")
        headers = acs3_headers(
            access_key_id=s.SMS_ACCESS_KEY_ID,
            access_key_secret=s.SMS_ACCESS_KEY_SECRET.get_secret_value(),
            host=httpx.URL(base).netloc.decode("ascii"),
            action=self.action,
            version=self.version,
            query=query,
            timestamp=self._clock(),
        )
        # The query goes on the wire exactly as it was signed.
        url = f"{base}/?{canonical_query(query)}"
        response = await post(self._http, "sms", self.name, url, headers=headers, content=b"")
        if response.status_code == 200 and json_object(response).get("Code") == "OK":
            return
        raise delivery_failed("sms", self.name, excerpt(response))


class TencentSms:
    """Tencent Cloud SMS SendSms 2021-01-11 with the shared TC3 signer."""

    name = "tencent"
    action, version, service = "SendSms", "2021-01-11", "sms"

    def __init__(self, settings: Settings, http: httpx.AsyncClient, clock: Clock) -> None:
        self._settings = settings
        self._http = http
        self._clock = clock

    def problems(self) -> list[str]:
        s = self._settings
        required = (*COMMON_SMS_SETTINGS, "SMS_SDK_APP_ID", "SMS_REGION")
        return missing_settings(s, self.name, required) + bad_base_url(
            self.name, "TENCENT_SMS_ENDPOINT", s.TENCENT_SMS_ENDPOINT
        )

    async def check(self) -> list[str]:
        return self.problems()

    async def send(self, phone: str, code: str) -> None:
        s = self._settings
        body = {
            "PhoneNumberSet": [phone],
            "SmsSdkAppId": s.SMS_SDK_APP_ID,
            "SignName": s.SMS_SIGN_NAME,
            "TemplateId": s.SMS_TEMPLATE_CODE,
            "TemplateParamSet": [code],
        }
        payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
        base = s.TENCENT_SMS_ENDPOINT.rstrip("/")
        headers = tc3_headers(
            secret_id=s.SMS_ACCESS_KEY_ID,
            secret_key=s.SMS_ACCESS_KEY_SECRET.get_secret_value(),
            service=self.service,
            host=httpx.URL(base).netloc.decode("ascii"),
            action=self.action,
            version=self.version,
            region=s.SMS_REGION,
            payload=payload,
            timestamp=int(self._clock()),
        )
        response = await post(self._http, "sms", self.name, f"{base}/", headers=headers, content=payload)
        # Tencent answers HTTP 200 even for auth failures: the verdict is Response.Error or the per-number Code.
        answer = json_object(response).get("Response")
        if response.status_code == 200 and isinstance(answer, dict) and "Error" not in answer:
            statuses = answer.get("SendStatusSet") or []
            if statuses and isinstance(statuses[0], dict) and statuses[0].get("Code") == "Ok":
                return
        raise delivery_failed("sms", self.name, excerpt(response))


class ConsoleSms:
    """Development only: write the code to the log instead of sending a text message."""

    name = "console"

    def __init__(self, settings: Settings, http: httpx.AsyncClient, clock: Clock) -> None:
        self._settings = settings

    def problems(self) -> list[str]:
        if self._settings.is_dev:
            return []
        return ["sms: the console provider logs codes and is for development only; choose a real provider"]

    async def check(self) -> list[str]:
        return self.problems()

    async def send(self, phone: str, code: str) -> None:
        # The one place a code is ever logged, by design: a developer reads it from the console.
        log.warning("[DEVELOPMENT ONLY: console SMS] to=%s code=%s", phone, code)
