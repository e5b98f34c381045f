"""gzip on what browsers download: only when asked, never on streams, ranges or small bodies."""

from __future__ import annotations

import gzip

from tests.webui.conftest import Client

CSS = "/static/css/app.css"


async def test_static_files_are_gzipped_when_the_client_accepts_it(client: Client) -> None:
    plain = await client.get(CSS)
    assert "Content-Encoding" not in plain.headers and "Accept-Encoding" in plain.headers["Vary"]
    original = await plain.get_data(as_text=False)
    for _ in range(2):  # the second answer comes from the kept copy
        packed = await client.get(CSS, headers={"Accept-Encoding": "gzip"})
        assert packed.headers["Content-Encoding"] == "gzip"
        body = await packed.get_data(as_text=False)
        assert gzip.decompress(body) == original and len(body) < len(original) / 2
        assert int(packed.headers["Content-Length"]) == len(body)
        assert packed.headers["ETag"] != plain.headers["ETag"]


async def test_refused_or_unsuitable_bodies_are_left_alone(client: Client) -> None:
    refused = await client.get(CSS, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers
    ranged = await client.get(CSS, headers={"Accept-Encoding": "gzip", "Range": "bytes=0-99"})
    assert "Content-Encoding" not in ranged.headers
    small = await client.get("/api/me", headers={"Accept-Encoding": "gzip"})  # a short JSON error body
    assert small.status_code == 401 and "Content-Encoding" not in small.headers
    page = await client.get("/login", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip" and b"<html" in gzip.decompress(await page.get_data(False))
