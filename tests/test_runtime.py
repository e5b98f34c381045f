"""The process-level choices of `chatgate serve`: its event loop, its store description, its listening sockets."""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any

import pytest
from pydantic import SecretStr
from quart import Blueprint

from channels import Runner
from chatgate.runtime import (
    StartupError,
    _run_servers,
    _serve_app,
    build_web_app,
    check_bindable,
    describe_store,
    event_loop_factory,
    scrub_secrets,
)
from core.services import build_services
from core.settings import Settings
from core.store.connection import Store


def loop_module(settings: Settings) -> str:
    with asyncio.Runner(loop_factory=event_loop_factory(settings)) as runner:
        return runner.run(_running_loop_module())


async def _running_loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


def test_auto_and_uvloop_run_on_uvloop_and_asyncio_on_asyncio(settings: Settings) -> None:
    assert loop_module(settings.model_copy(update={"EVENT_LOOP": "auto"})) == "uvloop"
    assert loop_module(settings.model_copy(update={"EVENT_LOOP": "uvloop"})) == "uvloop"
    assert loop_module(settings.model_copy(update={"EVENT_LOOP": "asyncio"})) == "asyncio"


def test_without_uvloop_auto_falls_back_and_uvloop_is_a_clear_error(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now raises ImportError
    assert event_loop_factory(settings.model_copy(update={"EVENT_LOOP": "auto"})) is None
    with pytest.raises(ValueError, match="uvloop is not installed"):
        event_loop_factory(settings.model_copy(update={"EVENT_LOOP": "uvloop"}))


def test_an_unknown_event_loop_is_refused() -> None:
    with pytest.raises(ValueError, match="EVENT_LOOP"):
        Settings(_env_file=None, EVENT_LOOP="tokio")  # type: ignore[call-arg,arg-type]


@pytest.mark.parametrize(
    ("url", "shown"),
    [("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
     ("rediss://default:p%40ss@host.upstash.io:6379", "rediss://***@host.upstash.io:6379"),
     ("redis://u:pw@host:1/0?ssl_ca_certs=/a@b/ca.pem", "redis://***@host:1/0?ssl_ca_certs=/a@b/ca.pem"),
     ("redis://host:1/0?Password=pw&db=2", "redis://host:1/0?Password=***&db=2"),
     ("unix://:pw@/run/redis.sock", "unix://***@/run/redis.sock")],
)  # fmt: skip
def test_store_urls_are_shown_without_passwords(settings: Settings, url: str, shown: str) -> None:
    assert describe_store(settings.model_copy(update={"REDIS_URL": url})) == f"the store at {shown}"


def test_secrets_are_scrubbed_from_store_errors(settings: Settings) -> None:
    configured = settings.model_copy(
        update={"REDIS_URL": "redis://u:url%2Fpw@h:1/0?password=query-pw", "REDIS_TOKEN": SecretStr("token-pw")}
    )
    text = "auth url/pw failed; tried query-pw and token-pw"
    assert scrub_secrets(text, configured) == "auth *** failed; tried *** and ***"


async def test_a_server_that_cannot_bind_stops_the_others_and_says_where() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StartupError, match=f"cannot listen on 127.0.0.1:{port}"):
            check_bindable("127.0.0.1", port)
        stop = asyncio.Event()
        healthy = _serve_app(app, "127.0.0.1", 0, stop)
        with pytest.raises(StartupError, match=f"cannot listen on 127.0.0.1:{port}: Address already in use"):
            await asyncio.wait_for(_run_servers([healthy, _serve_app(app, "127.0.0.1", port, stop)], stop), 10)
        assert stop.is_set()  # the healthy server was told to stop, and _run_servers waited for it


class EchoChannel:
    """A channel as the composition root sees it: a name, webhook routes, no runners."""

    name = "echo"

    def blueprint(self) -> Blueprint:
        bp = Blueprint("echo_channel", __name__)

        @bp.post("/echo/webhook")
        async def webhook() -> dict[str, str]:
            return {"echo": "ok"}

        return bp

    def runners(self) -> list[Runner]:
        return []


async def test_the_composition_root_registers_each_channels_webhook(settings: Settings, store: Store) -> None:
    services = await build_services(settings, store)
    try:
        client = build_web_app(services, [EchoChannel()]).test_client()
        assert (await (await client.post("/echo/webhook")).get_json()) == {"echo": "ok"}
        plain = build_web_app(services, []).test_client()
        assert (await plain.post("/echo/webhook")).status_code == 404
    finally:
        await services.close()
