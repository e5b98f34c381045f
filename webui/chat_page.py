"""The chat page at `/`: signed-in users get the chat, everyone else goes to sign in.

The page is a shell: the conversation list, models, presets and the announcement are loaded by the scripts under
static/js/chat/ from the Web chat API (docs/API.md). `CHAT_STYLESHEETS` and `CHAT_SCRIPTS` are the page's own
assets, in load order; the template loads exactly these (after base.html's), so the page-weight test can sum them.
"""

from __future__ import annotations

from quart import Blueprint, Response, redirect

from webui.auth import current_user
from webui.pages import render_page

bp = Blueprint("chat_page", __name__)

# Highlight.js themes are loaded per colour scheme with a media query, so only one applies at a time.
CHAT_STYLESHEETS: tuple[tuple[str, str], ...] = (
    ("vendor/highlight/github.min.css", "(prefers-color-scheme: light)"),
    ("vendor/highlight/github-dark.min.css", "(prefers-color-scheme: dark)"),
    ("css/chat.css", "all"),
)
CHAT_SCRIPTS: tuple[str, ...] = (
    "vendor/marked/marked.min.js",
    "vendor/dompurify/purify.min.js",
    "vendor/highlight/highlight.min.js",
    "js/chat/state.js",
    "js/chat/popover.js",
    "js/chat/markdown.js",
    "js/chat/messages.js",
    "js/chat/alerts.js",
    "js/chat/stream.js",
    "js/chat/conversations.js",
    "js/chat/models.js",
    "js/chat/presets.js",
    "js/chat/notice.js",
    "js/chat/composer.js",
    "js/chat/app.js",
)


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
        chat_stylesheets=CHAT_STYLESHEETS,
        chat_scripts=CHAT_SCRIPTS,
        display_name=display_name(user.name, user.email, user.phone),
    )
