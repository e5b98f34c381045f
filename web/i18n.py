"""The language of one request (zh-CN default, English) and translating pages with the app's catalogue.

The language is, in order: the `cg_lang` cookie (set by the switcher), the signed-in user's `lang`, the browser's
Accept-Language, the site's default language (dashboard settings, else DEFAULT_LANGUAGE; `load_site_language`).
Templates call the Jinja global `t(key, **params)`; front-end code gets the same catalogue as a JSON data block
(`<script type="application/json" id="cg-i18n">`), so no inline script is needed under the content-security
policy. Each app installs its catalogue (core.i18n.Catalogue) with `install`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from quart import Blueprint, Quart, Response, current_app, g, request

from core.i18n import LANGUAGE_NAMES, LANGUAGES, Catalogue, normalize_language
from core.site.config import site_config

SUPPORTED_LANGUAGES = LANGUAGES
LANGUAGE_ABBREVIATIONS: dict[str, str] = {"zh-CN": "中", "en": "EN"}  # the switcher on narrow screens
LANG_COOKIE = "cg_lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
CATALOGUE = "i18n.catalogue"  # app.extensions key of the app's Catalogue
USER_LOADER = "i18n.user_loader"  # app.extensions key of an async callable that loads the signed-in user on `g.user`

bp = Blueprint("i18n", __name__)


def install(app: Quart, catalogue: Catalogue, user_loader: Callable[[], Awaitable[Any]]) -> None:
    """Give an app its catalogue and the loader of its signed-in user (whose own language counts)."""
    app.extensions[CATALOGUE] = catalogue
    app.extensions[USER_LOADER] = user_loader
    app.register_blueprint(bp)


def pick_language(cookie: str | None, user_lang: str | None, accepted: Iterable[str], default: str) -> str:
    """Choose the language: cookie, then the user's setting, then the first supported Accept-Language."""
    for candidate in (cookie, user_lang):
        chosen = normalize_language(candidate)
        if chosen:
            return chosen
    for tag in accepted:
        chosen = normalize_language(tag)
        if chosen:
            return chosen
    return normalize_language(default) or SUPPORTED_LANGUAGES[0]


def request_language() -> str:
    """Resolve (once per request) the language of the current request; `g.user` is used when already loaded."""
    cached = g.get("lang")
    if cached:
        return str(cached)
    user = g.get("user")
    default = g.get("site_language") or current_app.extensions["services"].settings.DEFAULT_LANGUAGE
    accepted = [value for value, _quality in request.accept_languages]
    lang = pick_language(request.cookies.get(LANG_COOKIE), getattr(user, "lang", None), accepted, default)
    g.lang = lang
    return lang


async def load_site_language() -> None:
    """Read the site's default language (dashboard settings, this process's copy) for `request_language`."""
    if "site_language" not in g:
        svc = current_app.extensions["services"]
        g.site_language = (await site_config(svc.store, svc.settings)).default_language


def catalogue() -> Catalogue:
    """Return the current app's catalogue."""
    found: Catalogue = current_app.extensions[CATALOGUE]
    return found


def t(key: str, **params: Any) -> str:
    """Translate `key` into the current request's language (the Jinja global)."""
    return catalogue().text(request_language(), key, **params)


def set_language_cookie(response: Response, lang: str, secure: bool) -> None:
    """Remember the chosen language for a year (readable by scripts: it is a preference, not a secret)."""
    response.set_cookie(
        LANG_COOKIE, lang, max_age=LANG_COOKIE_MAX_AGE, path="/", samesite="Lax", secure=secure, httponly=False
    )


@bp.app_context_processor
async def _inject_language() -> dict[str, Any]:
    # Resolve the signed-in user first (the app's USER_LOADER), so the user's own language counts.
    loader = current_app.extensions.get(USER_LOADER)
    if loader is not None and "lang" not in g:
        await loader()
    if "lang" not in g:
        await load_site_language()
    lang = request_language()
    return {
        "lang": lang,
        "languages": LANGUAGE_NAMES,
        "language_abbreviations": LANGUAGE_ABBREVIATIONS,
        "i18n_catalogue": {"lang": lang, "messages": catalogue().by_language[lang]},
    }


@bp.record_once
def _install_global(state: Any) -> None:
    state.app.jinja_env.globals["t"] = t
