"""The relay engine alone behind a minimal Quart + Hypercorn route (the engine's figure, without /v1's extras).

Usage: .venv/bin/python benchmarks/relay_app.py --upstream http://127.0.0.1:P/v1 --port Q --store unix:///...
One POST /v1/chat/completions route: bearer key checked against a dict, the request's messages relayed through
core.relay.engine (health read from the store, failover, SSE byte forwarding, usage read from the stream).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart, Response, request

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.relay.catalogue import Model, Upstream
from core.relay.engine import Relay, build_relay
from core.settings import Settings
from core.store.connection import connect

UNAUTHORIZED = orjson.dumps(
    {"error": {"message": "bad key", "type": "invalid_request_error", "code": "invalid_api_key"}}
)


def build_app(relay: Relay, model: Model, keys: dict[str, int]) -> Quart:
    """Return the one-route app: key check, relay, forward the raw events."""
    app = Quart(__name__)
    app.config.update(RESPONSE_TIMEOUT=None, BODY_TIMEOUT=60)

    @app.post("/v1/chat/completions")
    async def chat() -> Response:
        if request.headers.get("Authorization", "")[7:] not in keys:
            return Response(UNAUTHORIZED, status=401, content_type="application/json")
        body = orjson.loads(await request.get_data())
        relayed = {"messages": body["messages"]}
        if not body.get("stream"):
            completion = await relay.complete(model, relayed)
            return Response(completion.body, content_type="application/json")
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        stream = await relay.stream(model, relayed, include_usage=include_usage)

        async def forward() -> AsyncIterator[bytes]:
            try:
                async for event in stream:
                    yield event.raw
            finally:
                await stream.aclose()

        return Response(forward(), content_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    return app


async def main(args: argparse.Namespace) -> None:
    settings = Settings(_env_file=None, CHATGATE_ENV="dev", REDIS_URL=args.store, DATA_DIR=Path(args.data_dir))  # type: ignore[call-arg]
    store = connect(args.store)
    relay = build_relay(settings, store)
    upstream = Upstream(id="bench", base_url=args.upstream, keys=[args.upstream_key])
    model = Model(id="gpt-4o-mini", name="GPT-4o mini", upstreams=[upstream])
    config = Config()
    config.bind = [f"127.0.0.1:{args.port}"]
    config.accesslog = None
    config.backlog = 4096  # the memory run opens 1,000 streams at once
    config.keep_alive_timeout = 75.0
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    try:
        await serve(build_app(relay, model, {args.key: 1}), config, shutdown_trigger=stop.wait)
    finally:
        await relay.close()
        await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True, help="the upstream API root, with /v1")
    parser.add_argument("--upstream-key", default="sk-bench")
    parser.add_argument("--key", default="sk-relay", help="the key callers must send")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--store", required=True, help="redis:// or unix:// URL of the store")
    parser.add_argument("--data-dir", default="/tmp/chatgate-relay-bench")
    asyncio.run(main(parser.parse_args()))
