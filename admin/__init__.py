"""The operators' dashboard: its own Quart app on its own port (ADMIN_PORT), over the same store and services.

Administrators sign in on the dashboard's own page; the session lives in the `cg_admin` cookie, which only this
app reads (the web app reads only `cg_session`). It stands on the web layer (web.app) and shares its design system
(web.assets: the shared files are served here under /ui); it never imports the web app.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from quart import Quart, request
from werkzeug.exceptions import MisdirectedRequest

from core.services import Services
from web.app import create_base_app
from web.context import services

STATIC_DIR = Path(__file__).resolve().parent / "static"

# The JSON API, one module per section (each exposes `bp`).
API_MODULES: list[str] = [
    "admin.api_stats",
    "admin.api_users",
    "admin.api_plans",
    "admin.api_notice",
    "admin.api_catalogue",
    "admin.api_moderation",
    "admin.api_settings",
    "admin.api_audit",
    "admin.api_orders",
    "admin.api_codes",
]


def create_admin_app(services: Services) -> Quart:
    """Build the dashboard app around an already-built services container."""
    from admin import metrics, views
    from admin.auth import current_admin
    from admin.messages import CATALOGUE

    app = create_base_app(
        __name__, services, CATALOGUE, current_admin, static_folder=STATIC_DIR, shared_static_path="/ui"
    )
    app.register_blueprint(views.bp)
    app.register_blueprint(metrics.bp)
    for name in API_MODULES:
        app.register_blueprint(importlib.import_module(name).bp)
    app.before_request(_check_host)
    return app


async def _check_host() -> None:
    """Answer only to the dashboard's own host names (ADMIN_ALLOWED_HOSTS): a page on another site that points a
    name of its own at 127.0.0.1 (DNS rebinding) must not reach the dashboard with the browser's help."""
    allowed = {name.lower() for name in services().settings.ADMIN_ALLOWED_HOSTS}
    host = request.host.lower()
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if "*" not in allowed and name not in allowed:
        raise MisdirectedRequest()
