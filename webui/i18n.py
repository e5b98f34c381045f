"""Translations for the pages (zh-CN default, English) and the choice of the language for one request.

The language is, in order: the `cg_lang` cookie (set by the switcher), the signed-in user's `lang`, the browser's
Accept-Language, settings.DEFAULT_LANGUAGE. Templates call the Jinja global `t(key, **params)`; front-end code gets
the same catalogue as a JSON data block (`<script type="application/json" id="cg-i18n">`), so no inline script is
needed under the content-security policy. Add a key by adding one line to MESSAGES: (zh-CN, English).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from quart import Blueprint, Response, current_app, g, request

from webui.i18n_messages import MESSAGES

SUPPORTED_LANGUAGES: tuple[str, ...] = ("zh-CN", "en")
LANGUAGE_NAMES: dict[str, str] = {"zh-CN": "中文", "en": "English"}
LANGUAGE_ABBREVIATIONS: dict[str, str] = {"zh-CN": "中", "en": "EN"}  # the switcher on narrow screens
LANG_COOKIE = "cg_lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
# app.extensions key of an async callable that loads the signed-in user onto `g.user` (set by pages / the dashboard).
USER_LOADER = "i18n.user_loader"

CATALOGUES: dict[str, dict[str, str]] = {
    lang: {key: texts[index] for key, texts in MESSAGES.items()} for index, lang in enumerate(SUPPORTED_LANGUAGES)
}

bp = Blueprint("i18n", __name__)


def normalize_language(value: str | None) -> str | None:
    """Map a language tag (zh, zh-Hans-CN, en-US, ...) to a supported language, or None."""
    if not value:
        return None
    tag = value.strip().lower().replace("_", "-")
    if tag == "zh" or tag.startswith("zh-"):
        return "zh-CN"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return None


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


def translate(lang: str, key: str, **params: Any) -> str:
    """Return the text of `key` in `lang` (falling back to zh-CN, then the key), with {params} filled in."""
    text = CATALOGUES.get(lang, {}).get(key) or CATALOGUES[SUPPORTED_LANGUAGES[0]].get(key) or key
    return text.format(**params) if params else text


def request_language() -> str:
    """Resolve (once per request) the language of the current request; `g.user` is used when already loaded."""
    cached = g.get("lang")
    if cached:
        return str(cached)
    user = g.get("user")
    default = current_app.extensions["services"].settings.DEFAULT_LANGUAGE
    accepted = [value for value, _quality in request.accept_languages]
    lang = pick_language(request.cookies.get(LANG_COOKIE), getattr(user, "lang", None), accepted, default)
    g.lang = lang
    return lang


def t(key: str, **params: Any) -> str:
    """Translate `key` into the current request's language (the Jinja global)."""
    return translate(request_language(), key, **params)


def set_language_cookie(response: Response, lang: str, secure: bool) -> None:
    """Remember the chosen language for a year (readable by scripts: it is a preference, not a secret)."""
    response.set_cookie(
        LANG_COOKIE, lang, max_age=LANG_COOKIE_MAX_AGE, path="/", samesite="Lax", secure=secure, httponly=False
    )


@bp.app_context_processor
async def _inject_language() -> dict[str, Any]:
    # Resolve the signed-in user first (the app's USER_LOADER), so the user's own language can count.
    loader = current_app.extensions.get(USER_LOADER)
    if loader is not None and "lang" not in g:
        await loader()
    lang = request_language()
    return {
        "lang": lang,
        "languages": LANGUAGE_NAMES,
        "language_abbreviations": LANGUAGE_ABBREVIATIONS,
        "i18n_catalogue": {"lang": lang, "messages": CATALOGUES[lang]},
    }


@bp.record_once
def _install_global(state: Any) -> None:
    state.app.jinja_env.globals["t"] = t
