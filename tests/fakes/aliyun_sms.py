"""Loopback Aliyun Dysms `SendSms` (2017-05-25) that verifies signature V3 ACS3-HMAC-SHA256 (PROTOCOLS.md s. 5).

The verifier is written independently of core/notify/aliyun.py: it rebuilds the canonical request from what
arrived on the wire (decoded query re-encoded, signed headers as received, hash of the received body).
Gateway errors use the POP shape `{"RequestId","HostId","Code","Message","Recommend"}` with a 4xx status;
business errors are HTTP 200 with `Code != "OK"` (isv.MOBILE_NUMBER_ILLEGAL, isv.SMS_SIGNATURE_ILLEGAL, ...).
`QuerySmsSignList` (read-only, what the doctor calls; `PageIndex`, `PageSize` 1..50) answers `{"Code": "OK",
"SmsSignList": [{"SignName", "AuditStatus", "CreateDate", "Reason", "BusinessType", "OrderId"}], "TotalCount",
"CurrentPage", "PageSize", "RequestId"}` from `.signs` (name -> AuditStatus, e.g. AUDIT_STATE_PASS).
API: `AliyunSmsFake(access_key_id=, access_key_secret=, sign_name=, template_code=)`, `async with`, `.url`,
`.messages` (dicts with PhoneNumbers, SignName, TemplateCode, TemplateParam, code), `.code_for(number)`,
`.fail_next(code, message)` to make the next valid request fail with a business error, `.signs`,
`.forbidden` (actions answered 403 Forbidden.RAM after a valid signature, as for a RAM user without that right),
`.actions` (the action of every request that passed the signature check).
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

UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
MAX_SKEW_SECONDS = 15 * 60
MAINLAND = re.compile(r"1\d{10}")
INTERNATIONAL = re.compile(r"(?!86)[1-9]\d{7,14}")
ACTIONS = ("SendSms", "QuerySmsSignList")


def rfc3986(value: str) -> str:
    return "".join(chr(b) if b in UNRESERVED else f"%{b:02X}" for b in value.encode("utf-8"))


def _parse_authorization(header: str) -> dict[str, str]:
    algorithm, _, rest = header.partition(" ")
    fields = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
    return {"algorithm": algorithm, **fields}


class AliyunSmsFake(LoopbackApp):
    def __init__(
        self,
        *,
        access_key_id: str = "LTAI5tFakeAccessKeyId",
        access_key_secret: str = "FakeAccessKeySecret0123456789ab",
        sign_name: str = "ChatGate",
        template_code: str = "SMS_123456789",
    ) -> None:
        super().__init__()
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.template_code = template_code
        self._nonces: set[str] = set()
        self._next_failure: tuple[str, str] | None = None
        self.signs: dict[str, str] = {sign_name: "AUDIT_STATE_PASS"}
        self.forbidden: set[str] = set()
        self.actions: list[str] = []

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/", self._handle)]

    def settings_update(self) -> dict[str, Any]:
        return {
            "SMS_PROVIDER": "aliyun",
            "ALIYUN_SMS_ENDPOINT": self.url,
            "SMS_ACCESS_KEY_ID": self.access_key_id,
            "SMS_ACCESS_KEY_SECRET": SecretStr(self.access_key_secret),
            "SMS_SIGN_NAME": self.sign_name,
            "SMS_TEMPLATE_CODE": self.template_code,
        }

    def fail_next(self, code: str = "isv.BUSINESS_LIMIT_CONTROL", message: str = "触发小时级流控Permits:5") -> None:
        self._next_failure = (code, message)

    def code_for(self, number: str) -> str:
        """Return the code last sent to `number` as Aliyun received it (mainland numbers without +86)."""
        for message in reversed(self.messages):
            if message["PhoneNumbers"] == number:
                return str(message["code"])
        raise AssertionError(f"no SMS to {number}")

    @staticmethod
    def _gateway_error(status: int, code: str, message: str) -> web.Response:
        body = {
            "RequestId": str(uuid.uuid4()).upper(),
            "HostId": "dysmsapi.aliyuncs.com",
            "Code": code,
            "Message": message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}&product=Dysmsapi",
        }
        return web.json_response(body, status=status)

    @staticmethod
    def _business(code: str, message: str, **extra: str) -> web.Response:
        body = {"Code": code, "Message": message, "RequestId": str(uuid.uuid4()).upper(), **extra}
        return web.json_response(body)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        problem = self._verify(request, body)
        if problem is not None:
            return problem
        action = request.headers["x-acs-action"]
        self.actions.append(action)
        if action in self.forbidden:
            message = "User not authorized to operate on the specified resource, or this API doesn't support RAM."
            return self._gateway_error(403, "Forbidden.RAM", message)
        if action == "QuerySmsSignList":
            return self._sign_list(request)
        return self._send_sms(request)

    def _verify(self, request: web.Request, body: bytes) -> web.Response | None:
        auth = _parse_authorization(request.headers.get("Authorization", ""))
        signed = [name for name in auth.get("SignedHeaders", "").split(";") if name]
        acs_headers = {name.lower() for name in request.headers if name.lower().startswith("x-acs-")}
        if auth["algorithm"] != "ACS3-HMAC-SHA256" or "host" not in signed or not acs_headers <= set(signed):
            return self._gateway_error(400, "IncompleteSignature", "The request signature does not conform.")
        if auth.get("Credential") != self.access_key_id:
            return self._gateway_error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if request.headers.get("x-acs-action") not in ACTIONS:
            return self._gateway_error(404, "InvalidAction.NotFound", "Specified api is not found.")
        if request.headers.get("x-acs-version") != "2017-05-25":
            return self._gateway_error(400, "InvalidVersion", "Specified parameter Version is not valid.")
        try:
            sent_at = datetime.strptime(request.headers.get("x-acs-date", ""), "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            return self._gateway_error(400, "InvalidTimeStamp.Format", "Specified time stamp is not valid.")
        if abs(sent_at.replace(tzinfo=UTC).timestamp() - time.time()) > MAX_SKEW_SECONDS:
            return self._gateway_error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date is expired.")
        nonce = request.headers.get("x-acs-signature-nonce", "")
        if not nonce or nonce in self._nonces:
            return self._gateway_error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        payload_hash = hashlib.sha256(body).hexdigest()
        string_to_sign = self._string_to_sign(request, signed, payload_hash)
        expected = hmac.new(self.access_key_secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
        claimed = auth.get("Signature", "")
        if request.headers.get("x-acs-content-sha256") != payload_hash or not hmac.compare_digest(expected, claimed):
            message = f"Specified signature does not match our calculation. server string to sign is:{string_to_sign}"
            return self._gateway_error(400, "SignatureDoesNotMatch", message)
        self._nonces.add(nonce)
        return None

    @staticmethod
    def _string_to_sign(request: web.Request, signed: list[str], payload_hash: str) -> str:
        pairs = sorted((rfc3986(key), rfc3986(value)) for key, value in request.query.items())
        query = "&".join(f"{key}={value}" for key, value in pairs)
        headers = "".join(f"{name}:{request.headers.get(name, '').strip()}\n" for name in sorted(signed))
        canonical = f"{request.method}\n{request.path}\n{query}\n{headers}\n{';'.join(sorted(signed))}\n{payload_hash}"
        return "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()

    def _sign_list(self, request: web.Request) -> web.Response:
        try:
            page = int(request.query.get("PageIndex", "1"))
            size = int(request.query.get("PageSize", "10"))
        except ValueError:
            return self._gateway_error(400, "InvalidParameter", "PageIndex and PageSize must be integers.")
        if page < 1 or not 1 <= size <= 50:
            return self._gateway_error(400, "InvalidParameter", "PageSize must be between 1 and 50.")
        names = sorted(self.signs)
        listed = [
            {
                "SignName": name,
                "AuditStatus": self.signs[name],
                "CreateDate": "2024-06-03 10:02:34",
                "Reason": {"RejectInfo": "无审核备注", "RejectSubInfo": "无审核备注", "RejectDate": ""},
                "BusinessType": "验证码类型",
                "OrderId": "20044156924",
            }
            for name in names[(page - 1) * size : page * size]
        ]
        page_info = {"SmsSignList": listed, "TotalCount": len(names), "CurrentPage": page, "PageSize": size}
        return web.json_response({**page_info, "Code": "OK", "Message": "OK", "RequestId": str(uuid.uuid4()).upper()})

    def _send_sms(self, request: web.Request) -> web.Response:
        params = request.query
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(name):
                return self._gateway_error(400, f"Missing{name}", f"{name} is mandatory for this action.")
        number = params["PhoneNumbers"]
        if not (MAINLAND.fullmatch(number) or INTERNATIONAL.fullmatch(number)):
            return self._business("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if params["SignName"] != self.sign_name:
            return self._business("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        if params["TemplateCode"] != self.template_code:
            return self._business("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        try:
            template_param = json.loads(params.get("TemplateParam", ""))
            code = template_param["code"]
        except (ValueError, KeyError, TypeError):
            return self._business("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if self._next_failure is not None:
            failure, self._next_failure = self._next_failure, None
            return self._business(*failure)
        self.messages.append({**{key: params.get(key, "") for key in params}, "code": code})
        biz_id = f"{int(time.time() * 1000)}^0"
        return self._business("OK", "OK", BizId=biz_id)
