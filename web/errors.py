"""The one place where core error codes become HTTP statuses and JSON bodies, for both apps.

Shape: ``{"error": {"code": "...", "message": "..."}}`` plus any data the error carries (e.g. retry_after).
The OpenAI-compatible /v1 API renders the same errors in OpenAI's shape (webui.v1, with `status_for`).
A browser opening a page (a GET that accepts HTML, outside /api and /v1) gets an HTML page instead, in its
language and with a way back (templates/error_page.html): an unknown page, a page whose link was revoked, a failure.
"""

from __future__ import annotations

import logging
from typing import Any

from quart import Quart, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from core import errors
from core.store.connection import STORE_ERRORS

log = logging.getLogger(__name__)

STATUS_BY_CODE: dict[str, int] = {
    errors.InvalidInput.code: 400,
    errors.InvalidEmail.code: 400,
    errors.InvalidPhone.code: 400,
    errors.WeakPassword.code: 400,
    errors.PayloadTooLarge.code: 413,
    errors.MessageTooLong.code: 400,
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
    errors.UnknownParameter.code: 400,
    errors.UnsupportedParameter.code: 400,
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


API_PREFIXES = ("/api/", "/v1/")
PAGE_KINDS = {404: "missing", 405: "method"}  # error_page.html's texts per status; anything else: "server"


def wants_page() -> bool:
    """A browser opening a page: a GET (or HEAD) outside the JSON APIs that accepts HTML."""
    path = request.path
    if request.method not in ("GET", "HEAD") or path in ("/api", "/v1") or path.startswith(API_PREFIXES):
        return False
    return request.accept_mimetypes.accept_html


async def error_page(status: int) -> tuple[Response, int] | None:
    """Render the HTML error page, or None when even that fails (the store is down, say): JSON then."""
    try:
        endpoint = "ui.static" if "ui.static" in current_app.view_functions else "static"
        site_name = current_app.extensions["services"].settings.NEXT_PUBLIC_TITLE
        html = await render_template(
            "error_page.html", status=status, kind=PAGE_KINDS.get(status, "server"), static_endpoint=endpoint,
            site_name=site_name, retry_path=request.full_path.rstrip("?"),
        )  # fmt: skip
    except Exception:  # the page is a nicety; the JSON answer below always works
        log.warning("the error page could not be rendered", exc_info=True)
        return None
    response = Response(html, status=status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response, status


def register_error_handlers(app: Quart) -> None:
    """Render core errors and HTTP errors as JSON for /api and /v1, and as an HTML page for a browser's pages."""

    @app.errorhandler(errors.CoreError)
    async def _core(error: errors.CoreError) -> tuple[Response, int]:
        page = await error_page(status_for(error)) if wants_page() and status_for(error) in (404, 500) else None
        return page or error_response(error)

    @app.errorhandler(HTTPException)
    async def _http(error: HTTPException) -> tuple[Response, int]:
        status = error.code or 500
        page = await error_page(status) if wants_page() and status >= 400 else None
        code = HTTP_CODES.get(status, "http_error")
        return page or (jsonify(error_body(code, error.description or error.name)), status)

    async def _store(error: Exception) -> tuple[Response, int]:
        return error_response(store_unavailable(error))

    for kind in STORE_ERRORS:
        app.register_error_handler(kind, _store)

    @app.errorhandler(Exception)
    async def _unexpected(error: Exception) -> tuple[Response, int]:
        log.exception("unhandled error")
        page = await error_page(500) if wants_page() else None
        return page or (jsonify(error_body("internal_error", "Something went wrong.")), 500)


STORE_RETRY_SECONDS = 5


def store_unavailable(error: Exception) -> errors.StoreUnavailable:
    """Say the store is away (503 with a short Retry-After); the client reconnects by itself when it is back."""
    log.warning("the store is unavailable: %s", type(error).__name__)
    return errors.StoreUnavailable(retry_after=STORE_RETRY_SECONDS)
