"""The one place where core error codes become HTTP statuses and JSON bodies, for both apps.

Shape: ``{"error": {"code": "...", "message": "..."}}`` plus any data the error carries (e.g. retry_after).
The OpenAI-compatible /v1 API renders the same errors in OpenAI's shape (webui.v1, with `status_for`).
"""

from __future__ import annotations

import logging
from typing import Any

from quart import Quart, Response, jsonify
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from werkzeug.exceptions import HTTPException

from core import errors

log = logging.getLogger(__name__)

STATUS_BY_CODE: dict[str, int] = {
    errors.InvalidInput.code: 400,
    errors.InvalidEmail.code: 400,
    errors.InvalidPhone.code: 400,
    errors.WeakPassword.code: 400,
    errors.PayloadTooLarge.code: 413,
    errors.UnsupportedMediaType.code: 415,
    errors.AlreadyRegistered.code: 409,
    errors.InvalidCredentials.code: 401,
    errors.AccountBlocked.code: 403,
    errors.NotAuthenticated.code: 401,
    errors.Forbidden.code: 403,
    errors.CsrfFailed.code: 403,
    errors.NotAdmin.code: 403,
    errors.NotFound.code: 404,
    errors.InvalidInviteCode.code: 400,
    errors.AlreadyExists.code: 409,
    errors.InUse.code: 409,
    errors.RegistrationClosed.code: 403,
    errors.InviteRequired.code: 400,
    errors.CodeRequired.code: 400,
    errors.InvalidCode.code: 400,
    errors.InvalidBindCode.code: 400,
    errors.CodeCooldown.code: 429,
    errors.CodeDailyCap.code: 429,
    errors.DeliveryFailed.code: 502,
    errors.DeliveryUnavailable.code: 400,
    errors.TooManyAttempts.code: 429,
    errors.ModelNotFound.code: 404,
    errors.ModelNotInPlan.code: 403,
    errors.QuotaExceeded.code: 429,
    errors.NoResetChances.code: 400,
    errors.ContentBlocked.code: 400,
    errors.UpstreamUnavailable.code: 503,
    errors.UpstreamError.code: 502,
    errors.ContextTooLong.code: 400,
    errors.LimitReached.code: 400,
    errors.DailyTokensExceeded.code: 429,
    errors.PlanNotForSale.code: 400,
    errors.PaymentsDisabled.code: 503,
    errors.PaymentFailed.code: 502,
    errors.InvalidRedemptionCode.code: 400,
    errors.TooManyStreams.code: 429,
    errors.PlanCapExceeded.code: 400,
    errors.UnsupportedContent.code: 400,
    errors.StoreUnavailable.code: 503,
}


HTTP_CODES: dict[int, str] = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    421: "misdirected_request",
}


def status_for(error: errors.CoreError) -> int:
    return STATUS_BY_CODE.get(error.code, 500)


def error_body(code: str, message: str, **data: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **data}}


def error_response(error: errors.CoreError) -> tuple[Response, int]:
    response = jsonify(error_body(error.code, error.message, **error.data))
    retry_after = error.data.get("retry_after")
    if retry_after is not None:
        response.headers["Retry-After"] = str(max(1, int(retry_after)))
    return response, status_for(error)


def register_error_handlers(app: Quart) -> None:
    """Render core errors and HTTP errors as JSON for /api and /v1; pages get the same body (rare)."""

    @app.errorhandler(errors.CoreError)
    async def _core(error: errors.CoreError) -> tuple[Response, int]:
        return error_response(error)

    @app.errorhandler(HTTPException)
    async def _http(error: HTTPException) -> tuple[Response, int]:
        status = error.code or 500
        code = HTTP_CODES.get(status, "http_error")
        return jsonify(error_body(code, error.description or error.name)), status

    async def _store(error: Exception) -> tuple[Response, int]:
        return error_response(store_unavailable(error))

    for kind in STORE_ERRORS:
        app.register_error_handler(kind, _store)

    @app.errorhandler(Exception)
    async def _unexpected(error: Exception) -> tuple[Response, int]:
        log.exception("unhandled error")
        return jsonify(error_body("internal_error", "Something went wrong.")), 500


STORE_ERRORS = (RedisConnectionError, RedisTimeoutError)  # the store is away (ClusterDownError is a ConnectionError)
STORE_RETRY_SECONDS = 5


def store_unavailable(error: Exception) -> errors.StoreUnavailable:
    """Say the store is away (503 with a short Retry-After); the client reconnects by itself when it is back."""
    log.warning("the store is unavailable: %s", type(error).__name__)
    return errors.StoreUnavailable(retry_after=STORE_RETRY_SECONDS)
