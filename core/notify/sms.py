"""SMS providers: Aliyun Dysms (ACS3 signature), Tencent Cloud SMS (TC3 signature) and the development console.

Protocol facts: shared/docs/PROTOCOLS.md sections 2 and 5. A message counts as sent only when the provider
accepted it: Aliyun `Code == "OK"`, Tencent `SendStatusSet[0].Code == "Ok"` with no `Response.Error`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx

from core.notify.aliyun import acs3_headers, canonical_query
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
from core.settings import Settings
from core.tc3 import tc3_headers

Clock = Callable[[], float]
COMMON_SMS_SETTINGS = ("SMS_ACCESS_KEY_ID", "SMS_ACCESS_KEY_SECRET", "SMS_SIGN_NAME", "SMS_TEMPLATE_CODE")
ALIYUN_SIGN_PAGE = 50  # QuerySmsSignList's largest page
ALIYUN_KEY_ERRORS = frozenset(
    {"InvalidAccessKeyId.NotFound", "InvalidAccessKeyId.Inactive", "SignatureDoesNotMatch", "IncompleteSignature"}
)
# A RAM user allowed to send but not to list is fine: the call got past the signature check.
ALIYUN_NOT_ALLOWED = frozenset({"Forbidden.RAM", "NoPermission"})
TENCENT_NOT_ALLOWED = ("AuthFailure.UnauthorizedOperation", "UnauthorizedOperation")
TENCENT_TEMPLATE_STATES = {1: "still under review", -1: "rejected"}


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

    def _signed(self, action: str, query: Mapping[str, str]) -> tuple[str, dict[str, str]]:
        """Return the URL and the ACS3-signed headers of one Dysms call with an empty body."""
        s = self._settings
        base = s.ALIYUN_SMS_ENDPOINT.rstrip("/")
        headers = acs3_headers(
            access_key_id=s.SMS_ACCESS_KEY_ID,
            access_key_secret=s.SMS_ACCESS_KEY_SECRET.get_secret_value(),
            host=httpx.URL(base).netloc.decode("ascii"),
            action=action,
            version=self.version,
            query=query,
            timestamp=self._clock(),
        )
        # The query goes on the wire exactly as it was signed.
        return f"{base}/?{canonical_query(query)}", headers

    async def check(self) -> list[str]:
        """List the signatures (QuerySmsSignList, read-only): proves the AccessKey and looks for SMS_SIGN_NAME."""
        found = self.problems()
        if found:
            return found
        s = self._settings
        url, headers = self._signed("QuerySmsSignList", {"PageIndex": "1", "PageSize": str(ALIYUN_SIGN_PAGE)})
        answer = await probe(self._http, self.name, "POST", url, s, headers=headers, content=b"")
        if isinstance(answer, str):
            return [answer]
        return aliyun_check_problems(answer, s.SMS_SIGN_NAME, origin(s.ALIYUN_SMS_ENDPOINT))

    async def send(self, phone: str, code: str) -> None:
        s = self._settings
        query = {
            "PhoneNumbers": aliyun_phone_number(phone),
            "SignName": s.SMS_SIGN_NAME,
            "TemplateCode": s.SMS_TEMPLATE_CODE,
            "TemplateParam": json.dumps({"code": code}, separators=(",", ":")),
        }
        url, headers = self._signed(self.action, query)
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

    def _signed(self, action: str, body: Mapping[str, Any]) -> tuple[str, dict[str, str], bytes]:
        """Return the URL, the TC3-signed headers and the JSON payload of one SMS API call."""
        s = self._settings
        payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
        base = s.TENCENT_SMS_ENDPOINT.rstrip("/")
        headers = tc3_headers(
            secret_id=s.SMS_ACCESS_KEY_ID,
            secret_key=s.SMS_ACCESS_KEY_SECRET.get_secret_value(),
            service=self.service,
            host=httpx.URL(base).netloc.decode("ascii"),
            action=action,
            version=self.version,
            region=s.SMS_REGION,
            payload=payload,
            timestamp=int(self._clock()),
        )
        return f"{base}/", headers, payload

    async def check(self) -> list[str]:
        """Read the template's status (DescribeSmsTemplateList, read-only): proves the SecretId/SecretKey pair."""
        found = self.problems()
        if found:
            return found
        s = self._settings
        if not s.SMS_TEMPLATE_CODE.isdigit():
            return ["tencent: SMS_TEMPLATE_CODE must be the numeric template ID from the Tencent Cloud SMS console"]
        where = origin(s.TENCENT_SMS_ENDPOINT)
        first: list[str] = []
        for international in (0, 1):  # the template is domestic or international; the call names which
            body = {"TemplateIdSet": [int(s.SMS_TEMPLATE_CODE)], "International": international}
            url, headers, payload = self._signed("DescribeSmsTemplateList", body)
            answer = await probe(self._http, self.name, "POST", url, s, headers=headers, content=payload)
            if isinstance(answer, str):
                return [answer]
            problems, final = tencent_check_problems(answer, s.SMS_TEMPLATE_CODE, where)
            if final:
                return problems
            first = first or problems
        return first

    async def send(self, phone: str, code: str) -> None:
        s = self._settings
        body = {
            "PhoneNumberSet": [phone],
            "SmsSdkAppId": s.SMS_SDK_APP_ID,
            "SignName": s.SMS_SIGN_NAME,
            "TemplateId": s.SMS_TEMPLATE_CODE,
            "TemplateParamSet": [code],
        }
        url, headers, payload = self._signed(self.action, body)
        response = await post(self._http, "sms", self.name, url, headers=headers, content=payload)
        # Tencent answers HTTP 200 even for auth failures: the verdict is Response.Error or the per-number Code.
        answer = json_object(response).get("Response")
        if response.status_code == 200 and isinstance(answer, dict) and "Error" not in answer:
            statuses = answer.get("SendStatusSet") or []
            if statuses and isinstance(statuses[0], dict) and statuses[0].get("Code") == "Ok":
                return
        raise delivery_failed("sms", self.name, excerpt(response))


def aliyun_check_problems(answer: httpx.Response, sign_name: str, where: str) -> list[str]:
    """Read Aliyun's answer to QuerySmsSignList: the key is good when Code is OK (or a RAM refusal)."""
    body = json_object(answer)
    code = str(body.get("Code") or "")
    if answer.status_code == 200 and code == "OK":
        return _aliyun_sign_problems(body, sign_name)
    if code in ALIYUN_NOT_ALLOWED:
        return []
    if code in ALIYUN_KEY_ERRORS:
        return [f"aliyun: {where} refused SMS_ACCESS_KEY_ID / SMS_ACCESS_KEY_SECRET ({code})"]
    if code.startswith("InvalidTimeStamp"):
        return [f"aliyun: {where} refused the request time ({code}): check this machine's clock"]
    if code:
        return [f"aliyun: {where} answered {code}: {str(body.get('Message') or '')[:160]}"]
    return [f"aliyun: unexpected answer from {where}: HTTP {answer.status_code}"]


def _aliyun_sign_problems(body: dict[str, Any], sign_name: str) -> list[str]:
    signs = [sign for sign in body.get("SmsSignList") or () if isinstance(sign, dict)]
    match = next((sign for sign in signs if sign.get("SignName") == sign_name), None)
    if match is not None:
        status = str(match.get("AuditStatus") or "")
        return (
            [] if status == "AUDIT_STATE_PASS" else [f"aliyun: SMS_SIGN_NAME {sign_name!r} is {status}, not approved"]
        )
    try:
        complete = int(body.get("TotalCount") or 0) <= len(signs)
    except (TypeError, ValueError):
        complete = False
    # Only a complete first page proves the signature is missing; otherwise it may be on a later page.
    return [f"aliyun: this account has no signature {sign_name!r} (SMS_SIGN_NAME)"] if complete else []


def tencent_check_problems(answer: httpx.Response, template_id: str, where: str) -> tuple[list[str], bool]:
    """Read Tencent's answer to DescribeSmsTemplateList; the flag says whether it settles the check."""
    response = json_object(answer).get("Response")
    if answer.status_code != 200 or not isinstance(response, dict):
        return [f"tencent: unexpected answer from {where}: HTTP {answer.status_code}"], True
    error = response.get("Error")
    if isinstance(error, dict):
        code = str(error.get("Code") or "")
        if code.startswith(TENCENT_NOT_ALLOWED):
            return [], True  # signed correctly, only not allowed to read templates (a sub-account, or a person)
        if code == "AuthFailure.SignatureExpire":
            return [f"tencent: {where} refused the request time ({code}): check this machine's clock"], True
        if code.startswith("AuthFailure"):
            return [f"tencent: {where} refused SMS_ACCESS_KEY_ID / SMS_ACCESS_KEY_SECRET ({code})"], True
        return [f"tencent: {where} answered {code}: {str(error.get('Message') or '')[:160]}"], False
    for status in response.get("DescribeTemplateStatusSet") or ():
        if isinstance(status, dict) and str(status.get("TemplateId")) == template_id:
            state_code = status.get("StatusCode")
            state = TENCENT_TEMPLATE_STATES.get(state_code) if isinstance(state_code, int) else None
            reply = str(status.get("ReviewReply") or "")[:120]
            return ([f"tencent: template {template_id} is {state} {reply}".rstrip()] if state else []), True
    return [f"tencent: no SMS template {template_id} in this account (SMS_TEMPLATE_CODE)"], False


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
