"""Static files and the shared design system: serving them, and their URLs with a content hash.

The design system (app.css, the API and UI scripts, the sign-in form script, the favicon, and the macros, language
switcher and logo templates) lives in web/static and web/templates, used by both apps. An app serves its static
files from several folders at one URL path (`serve_static`: the first folder that has the file wins), and
`ui_blueprint` makes the shared templates visible to an app's own (and can serve the shared files under a path of
their own, as the dashboard does at /ui). `asset_url` adds a content hash, so a new release is never served from a
stale cache.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from quart import Blueprint, Quart, Response, abort, current_app, send_from_directory, url_for

WEB_DIR = Path(__file__).resolve().parent
SHARED_STATIC = WEB_DIR / "static"
SHARED_TEMPLATES = WEB_DIR / "templates"
_FOLDERS = "assets.static_folders"  # app.extensions key: endpoint -> the folders it serves, in order


def serve_static(app: Quart, folders: list[Path], url_path: str = "/static", endpoint: str = "static") -> None:
    """Serve files from the first of `folders` that has them at `url_path` (as Quart's own static route would)."""
    app.extensions.setdefault(_FOLDERS, {})[endpoint] = folders

    async def send(filename: str) -> Response:
        folder = _folder_of(filename, folders)
        if folder is None:
            abort(404)
        return await send_from_directory(folder, filename)

    app.add_url_rule(f"{url_path}/<path:filename>", endpoint, send)


def ui_blueprint(static_url_path: str | None = None) -> Blueprint:
    """The shared templates, and the shared static files at `static_url_path` when given."""
    if static_url_path is None:
        return Blueprint("ui", __name__, template_folder=str(SHARED_TEMPLATES))
    return Blueprint(
        "ui", __name__, template_folder=str(SHARED_TEMPLATES), static_folder=str(SHARED_STATIC),
        static_url_path=static_url_path,
    )  # fmt: skip


def _folder_of(filename: str, folders: list[Path]) -> Path | None:
    for folder in folders:
        if (folder / filename).is_file():
            return folder
    return None


@lru_cache(maxsize=256)
def _file_digest(path: str, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:10]


def asset_url(filename: str, endpoint: str = "static") -> str:
    """Return the URL of a static file with a content hash."""
    blueprint = endpoint.rpartition(".")[0]
    if blueprint:
        folders = [Path(str(current_app.blueprints[blueprint].static_folder))]
    else:
        folders = current_app.extensions.get(_FOLDERS, {}).get(endpoint, [])
    folder = _folder_of(filename, folders)
    version = "0"
    if folder is not None:
        path = folder / filename
        version = _file_digest(str(path), path.stat().st_mtime_ns)
    return url_for(endpoint, filename=filename, v=version)
