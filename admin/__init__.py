"""The operators' dashboard: its own Quart app on its own port (ADMIN_PORT), over the same store and services.

Administrators sign in on the dashboard's own page; the session lives in the `cg_admin` cookie, which only this
app reads (the web app reads only `cg_session`). The shell shares the web app's design system: webui/static is
served here under /ui and webui/templates (macros, language switcher) are visible to the dashboard's templates.
"""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, Quart

from core.services import Services
from webui import compression, i18n, security
from webui.errors import register_error_handlers
from webui.pages import asset_url

WEBUI_DIR = Path(__file__).resolve().parent.parent / "webui"


def _shared_ui() -> Blueprint:
    """Serve the web app's stylesheet, scripts and templates to the dashboard (one design system)."""
    return Blueprint(
        "ui",
        __name__,
        static_folder=str(WEBUI_DIR / "static"),
        static_url_path="/ui",
        template_folder=str(WEBUI_DIR / "templates"),
    )


def create_admin_app(services: Services) -> Quart:
    """Build the dashboard app around an already-built services container."""
    from admin import views
    from admin.auth import current_admin

    app = Quart(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=services.settings.MAX_BODY_BYTES,
        BODY_TIMEOUT=60,
        JSON_SORT_KEYS=False,
    )
    app.extensions["services"] = services
    app.extensions[i18n.USER_LOADER] = current_admin  # the admin's own language counts on dashboard pages
    register_error_handlers(app)
    for blueprint in (security.bp, compression.bp, i18n.bp, _shared_ui(), views.bp):
        app.register_blueprint(blueprint)
    app.jinja_env.globals["asset"] = asset_url
    return app
