"""The chat page at `/`: signed-in users get the chat, everyone else goes to sign in.

The page is a shell: the conversation list, models, presets and the announcement are loaded by the scripts under
static/js/chat/ from the Web chat API (docs/API.md). `CHAT_STYLESHEETS` and `CHAT_SCRIPTS` are the page's own
assets, in load order; the template loads exactly these (after base.html's), so the page-weight test can sum them.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, redirect, request

from web.assets import asset_url
from web.context import services
from webui.auth import current_user
from webui.pages import page_theme, render_page

bp = Blueprint("chat_page", __name__)

# Highlight.js themes are loaded per colour scheme with a media query, so only one applies at a time (the theme
# toggle sets the media to "all" / "not all" when the user picks light or dark: chat_stylesheets()).
CHAT_STYLESHEETS: tuple[tuple[str, str], ...] = (
    ("vendor/highlight/github.min.css", "(prefers-color-scheme: light)"),
    ("vendor/highlight/github-dark.min.css", "(prefers-color-scheme: dark)"),
    ("css/chat.css", "all"),
    ("css/chat-panels.css", "all"),
)
CHAT_SCRIPTS: tuple[str, ...] = (
    "vendor/marked/marked.min.js",
    "vendor/dompurify/purify.min.js",
    "vendor/highlight/highlight.min.js",
    "js/chat/state.js",
    "js/chat/popover.js",
    "js/chat/rich.js",
    "js/chat/markdown.js",
    "js/chat/messages.js",
    "js/chat/alerts.js",
    "js/chat/stream.js",
    "js/chat/conversations.js",
    "js/chat/conv_actions.js",
    "js/chat/models.js",
    "js/chat/settings.js",
    "js/chat/presets.js",
    "js/chat/export.js",
    "js/chat/images.js",
    "js/chat/voice.js",
    "js/chat/theme.js",
    "js/chat/notice.js",
    "js/chat/composer.js",
    "js/chat/app.js",
)
# Fetched only when an answer needs them (markdown.js / rich.js / export.js), never on first load.
LAZY_ASSETS: dict[str, str] = {
    "katex_js": "vendor/katex/katex.min.js",
    "katex_css": "vendor/katex/katex.min.css",
    "html_to_image": "vendor/html-to-image/html-to-image.min.js",
}
MEDIA_FOR_THEME = {
    "light": {"(prefers-color-scheme: light)": "all", "(prefers-color-scheme: dark)": "not all"},
    "dark": {"(prefers-color-scheme: light)": "not all", "(prefers-color-scheme: dark)": "all"},
}


def chat_stylesheets(theme: str) -> list[tuple[str, str, str]]:
    """The page's stylesheets as (file, media, id): the code colours of a chosen theme apply whatever the device."""
    media_for = MEDIA_FOR_THEME.get(theme, {})
    found = []
    for file, media in CHAT_STYLESHEETS:
        side = "dark" if "dark" in media else "light" if "light" in media else ""
        found.append((file, media_for.get(media, media), f"hljs-{side}" if side else ""))
    return found


def chat_config() -> dict[str, Any]:
    """What the scripts need to know about the server: the limits, whether titles are written, the lazy assets."""
    settings = services().settings
    assets = {name: asset_url(path) for name, path in LAZY_ASSETS.items()}
    assets["mermaid_frame"] = f"/frames/mermaid?v={asset_url('vendor/mermaid/mermaid.min.js').rsplit('=', 1)[-1]}"
    return {
        "message_max_chars": settings.MESSAGE_MAX_CHARS,
        "answer_max_chars": settings.ANSWER_MAX_CHARS,
        "max_body_bytes": settings.MAX_BODY_BYTES,
        "auto_titles": settings.AUTO_TITLES,
        "assets": assets,
    }


def display_name(name: str | None, email: str | None, phone: str | None) -> str:
    """Return what the page calls the user: the chosen name, else the email's local part, else the phone."""
    if name:
        return name
    if email:
        return email.split("@", 1)[0]
    return phone or ""


@bp.get("/")
async def chat() -> Response:
    """Show the chat to signed-in users; send others to sign in."""
    user = await current_user()
    if user is None:
        return redirect("/login")  # type: ignore[return-value]
    return await render_page(
        "chat.html",
        chat_stylesheets=chat_stylesheets(await page_theme(user)),
        chat_scripts=CHAT_SCRIPTS,
        chat_config=chat_config(),
        opening=bool(request.args.get("c")),  # a chat is being opened: a skeleton, not the greeting, until it is
        display_name=display_name(user.name, user.email, user.phone),
    )
