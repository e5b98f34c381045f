"""A loopback OpenAI-compatible upstream speaking real Chat Completions (PROTOCOLS.md section 8).

In tests: ``async with FakeUpstream() as fake:`` then point an Upstream at ``fake.base_url``; set
``fake.behaviour`` (or queue per-request ``fake.script``) to make it fail in the ways real upstreams fail.
Tests get numbered words (`text_of`), so they can count what was delivered; ``demo=True`` answers with realistic
Markdown instead (tests.fakes.demo_answers), streamed in token-sized pieces. Requests with `n`, `tools` /
`functions`, a `response_format`, or ``Behaviour(echo=True)`` get OpenAI's richer answers (tests.fakes.openai_answers:
tool calls, JSON mode, several choices, the received parameters echoed); `/v1/embeddings` and `/v1/moderations`
answer too (tests.fakes.openai_extra).
Trying ChatGate: ``python -m tests.fakes.openai_upstream --port 9100`` (demo answers, with a first-byte latency and
a delay between pieces, as a real model streams). Benchmarks: ``--answer words --chunks 64 --chunk-delay 0
--latency 0``. It prints ``READY <url>``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.demo_answers import demo_answer, demo_title, last_user_text, title_request
from tests.fakes.demo_answers import pieces as token_pieces
from tests.fakes.openai_answers import RichAnswer, json_mode_error, rich_answer, wants_rich
from tests.fakes.openai_extra import embeddings_answer, moderations_answer

MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-3.5-turbo")
ERRORS: dict[int, tuple[str, str, str | None]] = {
    400: ("Invalid request.", "invalid_request_error", None),
    401: (
        "Incorrect API key provided: sk-****. You can find your API key at https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        "invalid_api_key",
    ),
    404: ("The model does not exist or you do not have access to it.", "invalid_request_error", "model_not_found"),
    429: ("Rate limit reached for requests. Please try again in 1s.", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request. Sorry about that!", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}


@dataclass
class Behaviour:
    """How the fake answers one chat request; the defaults are a healthy upstream."""

    status: int = 200  # anything else: an OpenAI error body with this status
    error_code: str | None = None  # overrides the code of the error body (e.g. context_length_exceeded)
    chunks: int = 8
    hang: float = 0.0  # seconds before the response headers (a first-byte timeout)
    hang_after_headers: float = 0.0  # headers sent, then silence before the first event
    chunk_delay: float = 0.0
    break_after: int | None = None  # close the connection after this many content chunks
    malformed_after: int | None = None  # send a line that is not SSE after this many content chunks
    error_after: int | None = None  # send a mid-stream `data: {"error": ...}` after this many content chunks
    pause_after: int | None = None  # hold the stream open for `pause` seconds after this many content chunks
    pause: float = 0.0
    usage: bool = True  # send the usage chunk (when the request asked for it)
    done: bool = True
    prompt_tokens: int = 9
    pieces: tuple[str, ...] = ()  # the answer's content chunks instead of piece(0..chunks-1)
    echo: bool = False  # answer with the JSON of the parameters received (all but messages)
    choice_pieces: dict[int, tuple[str, ...]] = field(default_factory=dict)  # per choice index, with `n`


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    key: str


def piece(index: int) -> str:
    """Return the content of chunk `index` (deterministic, so tests can count what was delivered)."""
    return f" word{index}"


def text_of(chunks: int) -> str:
    return "".join(piece(index) for index in range(chunks))


def error_body(status: int, code: str | None = None, message: str | None = None) -> bytes:
    default_message, kind, default_code = ERRORS.get(status, ERRORS[500])
    error = {"message": message or default_message, "type": kind, "param": None, "code": code or default_code}
    return orjson.dumps({"error": error})


class FakeUpstream:
    """The fake server; records every request and every client that hung up before the end."""

    def __init__(
        self, keys: set[str] | None = None, behaviour: Behaviour | None = None, port: int = 0, demo: bool = False
    ) -> None:
        self.demo = demo
        self.demo_turns = 0  # demo answers given (they take turns)
        self.keys = {"sk-test"} if keys is None else keys
        self.behaviour = behaviour or Behaviour()
        self.script: list[Behaviour] = []  # consumed one per chat request before `behaviour`
        self.requests: list[Recorded] = []
        self.disconnects = 0
        self.disconnected = asyncio.Event()
        self.completed = 0
        self.port = port
        self._runner: web.AppRunner | None = None
        self._cache: dict[tuple[str, int], list[bytes]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def chat_requests(self) -> list[Recorded]:
        return [request for request in self.requests if request.path.endswith("/chat/completions")]

    async def start(self) -> FakeUpstream:
        app = web.Application(client_max_size=64 * 1024 * 1024)  # OpenAI takes images inline as base64
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._azure_chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_post("/v1/moderations", self._moderations)
        app.router.add_post("/_fake/behaviour", self._control)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeUpstream:
        return await self.start()

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.stop()

    def _next_behaviour(self) -> Behaviour:
        return self.script.pop(0) if self.script else self.behaviour

    async def _control(self, request: web.Request) -> web.Response:
        """Replace the default behaviour (used by the benchmark, e.g. to hold streams open)."""
        self.behaviour = Behaviour(**orjson.loads(await request.read()))
        return web.Response(status=204)

    async def _models(self, request: web.Request) -> web.Response:
        if self.keys and _bearer(request) not in self.keys:
            return _error(401)
        data = [{"id": model, "object": "model", "created": 1700000000, "owned_by": "fake"} for model in MODELS]
        return web.Response(body=orjson.dumps({"object": "list", "data": data}), content_type="application/json")

    async def _embeddings(self, request: web.Request) -> web.Response:
        return await self._other(request, embeddings_answer)

    async def _moderations(self, request: web.Request) -> web.Response:
        return await self._other(request, moderations_answer)

    async def _other(self, request: web.Request, answer: Any) -> web.Response:
        """Answer embeddings or moderations: the key checked, the request recorded, the behaviour's status kept."""
        key = _bearer(request)
        body = await self._record(request, key)
        if self.keys and key not in self.keys:
            return _error(401)
        behaviour = self._next_behaviour()
        if behaviour.status != 200:
            return _error(behaviour.status, behaviour.error_code)
        result = answer(body or {}, str((body or {}).get("model") or ""))
        if isinstance(result, str):
            return _error(400, message=result)
        return web.Response(body=orjson.dumps(result), content_type="application/json")

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        key = _bearer(request)
        if self.keys and key not in self.keys:
            await self._record(request, key)
            return _error(401)
        return await self._answer(request, key)

    async def _azure_chat(self, request: web.Request) -> web.StreamResponse:
        key = request.headers.get("api-key", "")
        if self.keys and key not in self.keys:
            await self._record(request, key)
            return _error(401)
        if not request.query.get("api-version"):
            return _error(404, message="Resource not found")
        return await self._answer(request, key)

    async def _record(self, request: web.Request, key: str) -> dict[str, Any] | None:
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            body = None
        self.requests.append(Recorded(request.path, dict(request.headers), body or {}, key))
        return body if isinstance(body, dict) else None

    async def _answer(self, request: web.Request, key: str) -> web.StreamResponse:
        body = await self._record(request, key)
        if body is None or not isinstance(body.get("messages"), list) or not body["messages"]:
            return _error(400, message="'messages' is a required property")
        behaviour = self._next_behaviour()
        model = str(body.get("model") or request.match_info.get("deployment", "gpt-4o-mini"))
        try:
            if behaviour.hang:
                await asyncio.sleep(behaviour.hang)
            if behaviour.status != 200:
                return _error(behaviour.status, behaviour.error_code)
            if (refusal := json_mode_error(body)) is not None:
                return _error(400, message=refusal)
            if wants_rich(body, behaviour.echo, behaviour.choice_pieces):
                response = await self._rich(request, model, body, behaviour)
            else:
                response = await self._plain(request, model, body, behaviour)
        except (asyncio.CancelledError, ConnectionResetError):
            self.disconnects += 1
            self.disconnected.set()
            raise
        self.completed += 1
        return response

    async def _plain(
        self, request: web.Request, model: str, body: dict[str, Any], behaviour: Behaviour
    ) -> web.StreamResponse:
        demo = self._demo_events(model, body) if self.demo else None
        plain = piece_events(model, behaviour.pieces) if behaviour.pieces else None
        events = demo or plain or self._events(model, behaviour.chunks)
        if not body.get("stream"):
            return self._completion(model, behaviour, events)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return await self._stream(request, model, behaviour, include_usage, events)

    async def _rich(
        self, request: web.Request, model: str, body: dict[str, Any], behaviour: Behaviour
    ) -> web.StreamResponse:
        plain = list(behaviour.pieces) or [piece(index) for index in range(behaviour.chunks)]
        answer: RichAnswer = rich_answer(
            model, body, plain, behaviour.echo, behaviour.choice_pieces, behaviour.prompt_tokens
        )
        if not body.get("stream"):
            if not behaviour.usage:
                answer.completion.pop("usage")
            return web.Response(body=orjson.dumps(answer.completion), content_type="application/json")
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return await self._stream(request, model, behaviour, include_usage, answer.events, answer.completion_tokens)

    def _demo_events(self, model: str, body: dict[str, Any]) -> list[bytes]:
        question = last_user_text(body.get("messages"))
        if title_request(body.get("messages")):
            text = demo_title(question)
        else:
            text = demo_answer(question, self.demo_turns)
            self.demo_turns += 1
        role = _event(model, [_choice({"role": "assistant", "content": "", "refusal": None})])
        content = [_event(model, [_choice({"content": part})]) for part in token_pieces(text)]
        return [role, *content, _event(model, [_choice({}, "stop")])]

    def _completion(self, model: str, behaviour: Behaviour, events: list[bytes]) -> web.Response:
        usage = usage_counts(behaviour.prompt_tokens, len(events) - 2) if behaviour.usage else None
        return web.Response(body=orjson.dumps(completion_answer(model, events, usage)), content_type="application/json")

    async def _stream(
        self, request: web.Request, model: str, behaviour: Behaviour, include_usage: bool, events: list[bytes],
        completion_tokens: int | None = None,
    ) -> web.StreamResponse:  # fmt: skip
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        if behaviour.hang_after_headers:
            await asyncio.sleep(behaviour.hang_after_headers)
        chunks = len(events) - 2
        await response.write(events[0])  # the role chunk
        for index in range(chunks):
            if index == behaviour.break_after:
                assert request.transport is not None
                request.transport.close()  # no terminating chunk: the client sees a broken body
                return response
            if index == behaviour.malformed_after:
                await response.write(b"this is not an SSE line\n\n")
            if index == behaviour.error_after:
                error = {"message": "The server had an error while processing your request.", "type": "server_error"}
                await response.write(b"data: " + orjson.dumps({"error": {**error, "code": "server_error"}}) + b"\n\n")
                await response.write_eof()
                return response
            if index == behaviour.pause_after:
                await asyncio.sleep(behaviour.pause)
            if behaviour.chunk_delay:
                await asyncio.sleep(behaviour.chunk_delay)
            await response.write(events[index + 1])
        await response.write(events[-1])  # the finish chunk
        if include_usage and behaviour.usage:
            usage = usage_counts(behaviour.prompt_tokens, chunks if completion_tokens is None else completion_tokens)
            await response.write(usage_event(model, usage))
        if behaviour.done:
            await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    def _events(self, model: str, chunks: int, pieces: Sequence[str] = ()) -> list[bytes]:
        """Return [role chunk, content chunks..., finish chunk]: `pieces` as given, else `chunks` numbered words
        (built once per model and length)."""
        if pieces:
            return piece_events(model, pieces)
        cached = self._cache.get((model, chunks))
        if cached is None:
            cached = self._cache[(model, chunks)] = piece_events(model, [piece(i) for i in range(chunks)])
        return cached


def piece_events(model: str, texts: Sequence[str]) -> list[bytes]:
    """Return a streamed answer's events: [role chunk, a content chunk per text, finish chunk]."""
    role = _event(model, [_choice({"role": "assistant", "content": "", "refusal": None})])
    content = [_event(model, [_choice({"content": text})]) for text in texts]
    return [role, *content, _event(model, [_choice({}, "stop")])]


def usage_event(model: str, usage: dict[str, int]) -> bytes:
    """Return the last event of a stream asked for `stream_options.include_usage`."""
    return _event(model, [], usage=usage)


def completion_answer(model: str, events: list[bytes], usage: dict[str, int] | None) -> dict[str, Any]:
    """Return the not-streamed answer whose text is that of `events` (as `piece_events` makes them)."""
    text = "".join(_content_of(event) for event in events[1:-1])
    message = {"role": "assistant", "content": text, "refusal": None}
    answer: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "system_fingerprint": "fp_fake",
    }
    if usage is not None:
        answer["usage"] = usage
    return answer


def _choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}


def _event(model: str, choices: list[dict[str, Any]], usage: dict[str, int] | None = None) -> bytes:
    chunk = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": choices,
        "usage": usage,
    }
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


def _content_of(event: bytes) -> str:
    choices = orjson.loads(event.removeprefix(b"data: "))["choices"]
    return str(choices[0]["delta"].get("content") or "") if choices else ""


def usage_counts(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:] if header.startswith("Bearer ") else ""


def _error(status: int, code: str | None = None, message: str | None = None) -> web.Response:
    return web.Response(status=status, body=error_body(status, code, message), content_type="application/json")


async def _serve(args: argparse.Namespace) -> None:
    behaviour = Behaviour(
        chunks=args.chunks, chunk_delay=args.chunk_delay, pause_after=args.pause_after, pause=args.pause,
        hang=args.latency,
    )  # fmt: skip
    keys = {args.key} if args.key else set()
    fake = FakeUpstream(keys=keys, behaviour=replace(behaviour), port=args.port, demo=args.answer == "demo")
    await fake.start()
    print(f"READY {fake.url}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await fake.stop()


def build_parser() -> argparse.ArgumentParser:
    """The command line: by default what a newcomer should see (demo answers, streamed at a model's pace)."""
    parser = argparse.ArgumentParser(description="Run the fake OpenAI-compatible upstream.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--answer",
        choices=("demo", "words"),
        default="demo",
        help="demo: realistic Markdown answers (code, tables, math, diagrams); words: numbered words",
    )
    parser.add_argument("--chunks", type=int, default=64, help="pieces of a `words` answer")
    parser.add_argument("--key", default="sk-test", help="the accepted key ('' accepts any)")
    parser.add_argument("--chunk-delay", type=float, default=0.02, help="seconds between two pieces")
    parser.add_argument("--latency", type=float, default=0.6, help="seconds before the first byte")
    parser.add_argument("--pause-after", type=int, default=None)
    parser.add_argument("--pause", type=float, default=0.0)
    return parser


def main() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(build_parser().parse_args()))


if __name__ == "__main__":
    main()
