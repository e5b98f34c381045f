"""The pass-through without Quart: the same byte relay as benchmarks/passthrough_app.py as a bare ASGI app on
Hypercorn (uvloop), to show what the framework itself costs per request (`relay_overhead.py --raw`).

Usage: .venv/bin/python benchmarks/passthrough_asgi.py --upstream http://127.0.0.1:P --port Q [--key sk-bench]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.passthrough_app import run


def build_app(upstream: str, key: str) -> Any:
    sessions: list[aiohttp.ClientSession] = []

    async def lifespan(receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)
                sessions.append(aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await sessions[0].close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return await lifespan(receive, send)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        response = await sessions[0].post(f"{upstream}/v1/chat/completions", data=body, headers=headers)
        content_type = response.headers.get("Content-Type", "application/json").encode()
        await send(
            {"type": "http.response.start", "status": response.status, "headers": [(b"content-type", content_type)]}
        )
        try:
            async for chunk in response.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            response.release()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


if __name__ == "__main__":
    run(__doc__ or "", build_app)
