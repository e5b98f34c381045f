"""The base of both Quart apps: config, services, error handlers, security headers, compression, language choice,
static files and the shared design system. Each app adds its own blueprints on top."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from quart import Quart

from core.i18n import Catalogue
from core.services import Services
from web import compression, health, i18n, openapi, security, tracing
from web.assets import SHARED_STATIC, asset_url, serve_static, ui_blueprint
from web.errors import register_error_handlers


def create_base_app(
    import_name: str,
    services: Services,
    catalogue: Catalogue,
    user_loader: Callable[[], Awaitable[Any]],
    *,
    static_folder: Path,
    shared_static_path: str = "/static",
) -> Quart:
    """Build an app over the services: its static files at /static (then the design system's, or at
    `shared_static_path` when that is another path), JSON errors, security headers, gzip and its catalogue."""
    app = Quart(import_name, static_folder=None)
    app.config.update(
        MAX_CONTENT_LENGTH=services.settings.MAX_BODY_BYTES,
        BODY_TIMEOUT=60,
        JSON_SORT_KEYS=False,
    )
    app.extensions["services"] = services
    register_error_handlers(app)
    app.register_blueprint(tracing.bp)
    shared_apart = shared_static_path != "/static"
    serve_static(app, [static_folder] if shared_apart else [static_folder, SHARED_STATIC])
    app.register_blueprint(ui_blueprint(shared_static_path if shared_apart else None))
    app.register_blueprint(security.bp)
    app.register_blueprint(compression.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(openapi.bp)
    i18n.install(app, catalogue, user_loader)
    app.jinja_env.globals["asset"] = asset_url
    return app
