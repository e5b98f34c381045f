"""Interface preferences kept on the server: `GET /api/preferences`, `PATCH /api/preferences {"theme"}`.

The theme is also put in the `cg_theme` cookie, so pages shown before sign-in (and the first paint of every page)
use it without waiting for a script.
"""

from __future__ import annotations

from typing import Literal

from quart import Blueprint, Response, g, jsonify, request

from core.accounts.preferences import THEMES, get_preferences, set_preferences
from web.context import services
from web.validation import Body, parse_body
from webui.auth import require_user, secure_cookies

bp = Blueprint("api_preferences", __name__)

THEME_COOKIE = "cg_theme"
THEME_COOKIE_MAX_AGE = 365 * 24 * 3600


class PreferencesChange(Body):
    theme: Literal["system", "light", "dark"] | None = None


def cookie_theme() -> str:
    """The theme remembered in this browser (for pages without a signed-in user)."""
    value = request.cookies.get(THEME_COOKIE, "")
    return value if value in THEMES else "system"


@bp.get("/api/preferences")
@require_user
async def read() -> Response:
    return jsonify((await get_preferences(services().store, g.user.id)).public())


@bp.patch("/api/preferences")
@require_user
async def change() -> Response:
    body = await parse_body(PreferencesChange)
    svc = services()
    preferences = await set_preferences(svc.store, g.user.id, theme=body.theme)
    response = jsonify(preferences.public())
    response.set_cookie(
        THEME_COOKIE, preferences.theme, max_age=THEME_COOKIE_MAX_AGE, path="/", samesite="Lax",
        secure=secure_cookies(), httponly=False,
    )  # fmt: skip
    return response
