"""Access to the services container from a request handler."""

from __future__ import annotations

from quart import current_app

from core.services import Services


def services() -> Services:
    return current_app.extensions["services"]
