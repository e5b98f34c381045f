"""The end-user web app: pages, JSON API, SSE chat stream and the OpenAI-compatible /v1 API.

It stands on the web layer (web.app: errors, security headers, gzip, languages, the design system); channel
webhooks are registered on it by the composition root (chatgate), never imported here.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from quart import Quart

from core.services import Services
from web.app import create_base_app
from webui.auth import current_user
from webui.connection import V1_LIMIT_CONFIG, WebConnection
from webui.messages import CATALOGUE
from webui.v1_lane import V1Lane

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Each feature module exposes `bp` (a Blueprint); adding a feature = adding its module name here.
BLUEPRINT_MODULES: list[str] = [
    "webui.api_auth",
    "webui.api_account",
    "webui.api_channels",
    "webui.pages",
    "webui.login_code",
    "webui.chat_page",
    "webui.login_link",
    "webui.api_conversations",
    "webui.api_titles",
    "webui.shares",
    "webui.api_masks",
    "webui.api_preferences",
    "webui.frames",
    "webui.api_keys",
    "webui.api_presets",
    "webui.api_usage",
    "webui.api_quota",
    "webui.api_orders",
    "webui.api_billing",
    "webui.pay_notify",
    "webui.pricing",
    "webui.api_chat",
    "webui.v1_cors",
    "webui.v1",
    "webui.v1_endpoints",
    "webui.v1_responses",
]


def create_app(services: Services) -> Quart:
    """Build the web app around an already-built services container."""
    app = create_base_app(__name__, services, CATALOGUE, current_user, static_folder=STATIC_DIR)
    app.asgi_http_class = WebConnection  # chat bodies closed even if the caller left first; /v1's body limit
    app.config[V1_LIMIT_CONFIG] = services.settings.V1_MAX_BODY_BYTES
    app.config["RESPONSE_TIMEOUT"] = None  # streams run as long as the model writes; idle timeouts are ours
    for name in BLUEPRINT_MODULES:
        app.register_blueprint(importlib.import_module(name).bp)
    app.asgi_app = V1Lane(app, app.asgi_app, services)  # type: ignore[method-assign]  # API-key chat calls
    return app
