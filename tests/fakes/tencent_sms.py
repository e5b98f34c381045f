"""Loopback Tencent Cloud SMS `SendSms` (2021-01-11) that verifies the TC3-HMAC-SHA256 signature.

Protocol: PROTOCOLS.md sections 2 and 5. The verifier rebuilds the canonical request from the received request
(any SignedHeaders list, values lowercased and trimmed as Tencent documents), independently of core/tc3.py.
Every answer is HTTP 200: `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}` on failure (e.g.
AuthFailure.SignatureFailure, AuthFailure.SecretIdNotFound, AuthFailure.SignatureExpire), else
`{"Response": {"SendStatusSet": [{"SerialNo","PhoneNumber","Fee","SessionContext","Code","Message","IsoCode"}],
"RequestId"}}` with a per-number Code ("Ok", or e.g. InvalidParameterValue.IncorrectPhoneNumber).
API: `TencentSmsFake(secret_id=, secret_key=, app_id=, sign_name=, template_id=)`, `async with`, `.url`,
`.messages` (one dict per number accepted: PhoneNumber, code, TemplateParamSet...), `.code_for(e164)`,
`.fail_next(code, message)` to make the next number fail with a per-number error.
`DescribeSmsTemplateList` (read-only, what the doctor calls; `TemplateIdSet` of integers, `International` 0|1)
answers `{"Response": {"DescribeTemplateStatusSet": [{"TemplateId", "International", "StatusCode",
"ReviewReply", "TemplateName", "CreateTime"}], "RequestId"}}` for the IDs of `.templates` (id -> (International,
StatusCode: 0 approved, 1 in review, -1 rejected)); IDs it does not hold are left out of the set.
`.forbidden` names actions answered `AuthFailure.UnauthorizedOperation` after a valid signature (a CAM
sub-account without that right); `.actions` lists the action of every request that passed the signature check.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from tests.fakes._loopback import LoopbackApp

MAX_SKEW_SECONDS = 300
E164 = re.compile(r"\+[1-9]\d{6,14}")
MAINLAND = re.compile(r"\+861\d{10}")
ACTIONS = ("SendSms", "DescribeSmsTemplateList")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _error(code: str, message: str) -> web.Response:
    return web.json_response({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": _rid()}})


def _rid() -> str:
    return str(uuid.uuid4())


class TencentSmsFake(LoopbackApp):
    def __init__(
        self,
        *,
        secret_id: str = "AKIDFakeSecretId0123456789",
        secret_key: str = "FakeSecretKey0123456789abcdef",
        app_id: str = "1400000001",
        sign_name: str = "ChatGate",
        template_id: str = "1234567",
    ) -> None:
        super().__init__()
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.app_id = app_id
        self.sign_name = sign_name
        self.template_id = template_id
        self._next_failure: tuple[str, str] | None = None
        self.templates: dict[int, tuple[int, int]] = {int(template_id): (0, 0)} if template_id.isdigit() else {}
        self.forbidden: set[str] = set()
        self.actions: list[str] = []

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/", self._handle)]

    def settings_update(self) -> dict[str, Any]:
        return {
            "SMS_PROVIDER": "tencent",
            "TENCENT_SMS_ENDPOINT": self.url,
            "SMS_ACCESS_KEY_ID": self.secret_id,
            "SMS_ACCESS_KEY_SECRET": SecretStr(self.secret_key),
            "SMS_SDK_APP_ID": self.app_id,
            "SMS_SIGN_NAME": self.sign_name,
            "SMS_TEMPLATE_CODE": self.template_id,
        }

    def fail_next(
        self, code: str = "LimitExceeded.PhoneNumberDailyLimit", message: str = "daily limit exceeded"
    ) -> None:
        self._next_failure = (code, message)

    def code_for(self, number: str) -> str:
        for message in reversed(self.messages):
            if message["PhoneNumber"] == number:
                return str(message["code"])
        raise AssertionError(f"no SMS to {number}")

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        problem = self._verify(request, body)
        if problem is not None:
            return problem
        action = request.headers["X-TC-Action"]
        self.actions.append(action)
        if action in self.forbidden:
            return _error("AuthFailure.UnauthorizedOperation", "The request is not authorized by CAM.")
        try:
            params = json.loads(body)
        except ValueError:
            return _error("InvalidParameter", "The request body is not valid JSON.")
        params = params if isinstance(params, dict) else {}
        if action == "DescribeSmsTemplateList":
            return self._describe_templates(params)
        return self._send_sms(params)

    def _describe_templates(self, params: dict[str, Any]) -> web.Response:
        ids, international = params.get("TemplateIdSet"), params.get("International")
        if not isinstance(ids, list) or not ids or not all(type(i) is int for i in ids):
            return _error("InvalidParameter", "TemplateIdSet must be a non-empty array of integers.")
        if international not in (0, 1):
            return _error("MissingParameter", "The request is missing a required parameter `International`.")
        statuses = [
            {
                "TemplateId": template,
                "International": international,
                "StatusCode": self.templates[template][1],
                "ReviewReply": "模板内容不规范" if self.templates[template][1] == -1 else "",
                "TemplateName": "验证码",
                "CreateTime": 1700000000,
            }
            for template in ids
            if template in self.templates and self.templates[template][0] == international
        ]
        return web.json_response({"Response": {"DescribeTemplateStatusSet": statuses, "RequestId": _rid()}})

    def _verify(self, request: web.Request, body: bytes) -> web.Response | None:
        if request.headers.get("X-TC-Action") not in ACTIONS:
            return _error("InvalidAction", "The action does not exist.")
        if request.headers.get("X-TC-Version") != "2021-01-11":
            return _error("NoSuchVersion", "The version does not exist.")
        if not request.headers.get("X-TC-Region"):
            return _error("MissingParameter", "The request is missing a required parameter `Region`.")
        match = re.fullmatch(
            r"TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/([a-z]+)/tc3_request, "
            r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})",
            request.headers.get("Authorization", ""),
        )
        if match is None:
            return _error("AuthFailure.InvalidAuthorization", "Authorization header is not valid.")
        secret_id, date, service, signed, signature = match.groups()
        if secret_id != self.secret_id:
            return _error("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        timestamp = int(request.headers.get("X-TC-Timestamp", "0") or 0)
        if abs(time.time() - timestamp) > MAX_SKEW_SECONDS:
            return _error("AuthFailure.SignatureExpire", f"Signature expired. Timestamp is {timestamp}.")
        expected = self._signature(request, body, date, service, signed.split(";"), timestamp)
        utc_date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
        if service != "sms" or date != utc_date or not hmac.compare_digest(expected, signature):
            return _error(
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated. Please check your signature is correct.",
            )
        return None

    def _signature(
        self, request: web.Request, body: bytes, date: str, service: str, signed: list[str], timestamp: int
    ) -> str:
        headers = "".join(f"{name}:{request.headers.get(name, '').strip().lower()}\n" for name in signed)
        canonical = (
            f"{request.method}\n{request.path}\n{request.query_string}\n{headers}\n{';'.join(signed)}\n"
            + hashlib.sha256(body).hexdigest()
        )
        scope = f"{date}/{service}/tc3_request"
        to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n" + hashlib.sha256(canonical.encode()).hexdigest()
        key = _hmac(_hmac(_hmac(("TC3" + self.secret_key).encode(), date), service), "tc3_request")
        return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()

    def _send_sms(self, params: dict[str, Any]) -> web.Response:
        if params.get("SmsSdkAppId") != self.app_id:
            return _error("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId verify fail.")
        if params.get("SignName") != self.sign_name:
            return _error("FailedOperation.SignatureIncorrectOrUnapproved", "signature incorrect or unapproved")
        if params.get("TemplateId") != self.template_id:
            return _error("FailedOperation.TemplateIncorrectOrUnapproved", "template incorrect or unapproved")
        numbers = params.get("PhoneNumberSet")
        template_params = params.get("TemplateParamSet") or []
        if not isinstance(numbers, list) or not numbers:
            return _error("MissingParameter", "The request is missing a required parameter `PhoneNumberSet`.")
        statuses = [self._send_one(str(number), template_params) for number in numbers]
        return web.json_response({"Response": {"SendStatusSet": statuses, "RequestId": _rid()}})

    def _send_one(self, number: str, template_params: list[Any]) -> dict[str, Any]:
        status: dict[str, Any] = {
            "SerialNo": "",
            "PhoneNumber": number,
            "Fee": 0,
            "SessionContext": "",
            "IsoCode": "CN" if number.startswith("+86") else "DEF",
        }
        if not E164.fullmatch(number) or (number.startswith("+86") and not MAINLAND.fullmatch(number)):
            return {**status, "Code": "InvalidParameterValue.IncorrectPhoneNumber", "Message": "incorrect number"}
        if self._next_failure is not None:
            (code, message), self._next_failure = self._next_failure, None
            return {**status, "Code": code, "Message": message}
        self.messages.append(
            {"PhoneNumber": number, "TemplateParamSet": template_params, "code": (template_params or [""])[0]}
        )
        serial = f"2640:{uuid.uuid4().int % 10**20}"
        return {**status, "SerialNo": serial, "Fee": 1, "Code": "Ok", "Message": "send success"}
