"""`POST /v1/responses`: the Responses API, stateless, over the chat path (core.chat.responses: the request,
core.chat.responses_events: the answer), with the same key, plan, quota and headers as /v1/chat/completions."""

from __future__ import annotations

from typing import Any

import orjson
from quart import Blueprint, Response, g

from core.chat.events import ChatDelta, ChatDone, ChatError, ChatEvent
from core.chat.request import ChatRequest
from core.chat.responses import responses_call
from core.chat.responses_events import ResponseEvents, completed_response
from webui.streaming import stream_response
from webui.v1 import completion_body, run_chat
from webui.v1_http import install_error_handlers, rate_headers

bp = Blueprint("v1_responses", __name__)
install_error_handlers(bp)


def _read(body: dict[str, Any]) -> ChatRequest:
    g.v1_responses = responses_call(body)
    chat: ChatRequest = g.v1_responses.chat
    return chat


@bp.post("/v1/responses")
async def create_response() -> Response:
    chat, stream = await run_chat(_read)
    echo = g.v1_responses.echo
    if not chat.stream:
        answer = completed_response(echo, orjson.loads(await completion_body(stream)))
        return rate_headers(Response(orjson.dumps(answer), content_type="application/json"), stream.rate)
    events = ResponseEvents(echo)

    def render(event: ChatEvent) -> bytes | None:
        if isinstance(event, ChatDelta):
            return events.feed(event.raw)
        if isinstance(event, ChatDone):
            return events.finish_events()
        if isinstance(event, ChatError):
            if event.error.code == "content_filter":
                return events.finish_events(stopped=True)
            return events.fail_events("server_error", event.error.message)
        return None

    return rate_headers(stream_response(stream, render), stream.rate)
