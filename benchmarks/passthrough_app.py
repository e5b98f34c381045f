"""The baseline of the relay overhead benchmark: a bare Quart + aiohttp byte pass-through proxy.

Usage: .venv/bin/python benchmarks/passthrough_app.py --upstream http://127.0.0.1:P --port Q [--key sk-bench]
POST /v1/chat/completions: the request body is sent unchanged to the upstream (with the upstream's key) over one
shared aiohttp session, and the upstream's status and bytes are streamed back as they arrive. No key check, no
store, no parsing: what any proxy in front of a model must do at the least. Same server stack as `chatgate serve`
(Hypercorn, uvloop when installed, the same Hypercorn settings), so the difference measured is ChatGate's own work.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart, Response, request


def build_app(upstream: str, key: str) -> Quart:
    app = Quart(__name__)
    app.config.update(RESPONSE_TIMEOUT=None, BODY_TIMEOUT=60)
    holder: dict[str, aiohttp.ClientSession] = {}

    @app.before_serving
    async def open_session() -> None:
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)
        holder["session"] = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120))

    @app.after_serving
    async def close_session() -> None:
        await holder["session"].close()

    @app.post("/v1/chat/completions")
    async def chat() -> Response:
        body = await request.get_data()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        upstream_response = await holder["session"].post(f"{upstream}/v1/chat/completions", data=body, headers=headers)
        content_type = upstream_response.headers.get("Content-Type", "application/json")

        async def forward() -> AsyncIterator[bytes]:
            try:
                async for chunk in upstream_response.content.iter_any():
                    yield chunk
            finally:
                upstream_response.release()

        return Response(forward(), status=upstream_response.status, content_type=content_type)

    return app


async def main(args: argparse.Namespace, build: Callable[[str, str], Any] = build_app) -> None:
    config = Config()
    config.bind = [f"127.0.0.1:{args.port}"]
    config.accesslog = None
    config.backlog = 2048
    config.keep_alive_timeout = 75.0
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await serve(build(args.upstream.rstrip("/"), args.key), config, shutdown_trigger=stop.wait)


def run(description: str, build: Callable[[str, str], Any] = build_app) -> None:
    """Parse --upstream/--key/--port and serve the pass-through `build` makes (uvloop when installed)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--upstream", required=True, help="the upstream's base URL (without /v1)")
    parser.add_argument("--key", default="sk-bench", help="the upstream's key")
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(main(arguments, build))
    else:
        uvloop.run(main(arguments, build))


if __name__ == "__main__":
    run(__doc__ or "")
