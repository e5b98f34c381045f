"""The end-user web app: pages, JSON API, SSE chat stream and the OpenAI-compatible /v1 API."""

from __future__ import annotations

from quart import Quart

from core.services import Services
from webui.errors import register_error_handlers
from webui.streaming import ClosingHTTPConnection

# Each feature module exposes `bp` (a Blueprint); adding a feature = adding its module name here.
BLUEPRINT_MODULES: list[str] = [
    "webui.api_auth",
    "webui.api_account",
    "webui.security",
    "webui.compression",
    "webui.i18n",
    "webui.pages",
    "webui.chat_page",
    "webui.api_conversations",
    "webui.api_keys",
    "webui.api_presets",
    "webui.api_usage",
    "webui.api_quota",
    "webui.api_chat",
    "webui.v1",
]


def create_app(services: Services) -> Quart:
    """Build the web app around an already-built services container."""
    import importlib

    app = Quart(__name__)
    app.asgi_http_class = ClosingHTTPConnection  # a chat body is closed even if the caller left before its start
    app.config.update(
        MAX_CONTENT_LENGTH=services.settings.MAX_BODY_BYTES,
        BODY_TIMEOUT=60,
        RESPONSE_TIMEOUT=None,  # streams run as long as the model writes; idle timeouts are ours
        JSON_SORT_KEYS=False,
    )
    app.extensions["services"] = services
    register_error_handlers(app)
    for name in BLUEPRINT_MODULES:
        module = importlib.import_module(name)
        app.register_blueprint(module.bp)
    return app
