"""The process-level choices of `chatgate serve`: its event loop."""

from __future__ import annotations

import asyncio
import sys

import pytest

from chatgate.runtime import event_loop_factory
from core.settings import Settings


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
