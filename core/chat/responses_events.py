"""A chat answer as a Responses API answer: the Response object of a whole answer, or the stream of Responses events
(`response.created`, `response.output_item.added`, `response.output_text.delta`, ..., `response.completed`) made
from the Chat Completions chunks as they arrive (see core.chat.responses for the request side).

A message item carries the text, a `function_call` item each tool call (its `call_id` is the chat tool call's id).
The status is `completed`, or `incomplete` when the answer stopped at max_output_tokens (`max_output_tokens`) or was
stopped by moderation (`content_filter`); a stream the upstream broke ends with `response.failed`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

import orjson

INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


def response_usage(usage: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Chat usage in the Responses shape."""
    if not usage:
        return None
    prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    return {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": cached}, "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": reasoning}, "total_tokens": prompt + completion}  # fmt: skip


def message_item(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}] if status != "open" else []
    return {"type": "message", "id": item_id, "status": "in_progress" if status == "open" else status,
            "role": "assistant", "content": content}  # fmt: skip


def call_item(item_id: str, call_id: str, name: str, arguments: str, status: str = "completed") -> dict[str, Any]:
    return {"type": "function_call", "id": item_id, "call_id": call_id, "name": name, "arguments": arguments,
            "status": status}  # fmt: skip


class ResponseShape:
    """The Response object around an answer: its id, time and what the request set (echoed back)."""

    def __init__(self, echo: Mapping[str, Any]) -> None:
        self.id = new_id("resp")
        self.created_at = int(time.time())
        self.echo = echo

    def build(
        self, status: str, output: list[dict[str, Any]], usage: dict[str, Any] | None = None,
        finish: str | None = None, error: dict[str, Any] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        echo = self.echo
        reasoning = echo.get("reasoning") or {}
        return {
            "id": self.id, "object": "response", "created_at": self.created_at, "status": status,
            "background": False, "error": error,
            "incomplete_details": {"reason": INCOMPLETE[finish]} if status == "incomplete" and finish else None,
            "instructions": echo.get("instructions"), "max_output_tokens": echo.get("max_output_tokens"),
            "max_tool_calls": None, "model": echo.get("model"), "output": output,
            "parallel_tool_calls": echo.get("parallel_tool_calls") is not False, "previous_response_id": None,
            "reasoning": {"effort": reasoning.get("effort"), "summary": None}, "service_tier": "default",
            "store": False, "temperature": echo.get("temperature"), "text": echo.get("text") or
            {"format": {"type": "text"}}, "tool_choice": echo.get("tool_choice") or "auto",
            "tools": echo.get("tools") or [], "top_logprobs": 0, "top_p": echo.get("top_p"),
            "truncation": echo.get("truncation") or "disabled", "usage": usage, "user": echo.get("user"),
            "metadata": echo.get("metadata") or {},
        }  # fmt: skip


def completed_response(echo: Mapping[str, Any], completion: Mapping[str, Any]) -> dict[str, Any]:
    """The Response of a whole (non-stream) chat completion."""
    shape = ResponseShape(echo)
    choices = completion.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    output: list[dict[str, Any]] = []
    text = message.get("content") or message.get("refusal")
    if text:
        output.append(message_item(new_id("msg"), str(text)))
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        output.append(call_item(new_id("fc"), str(call.get("id") or new_id("call")), str(function.get("name") or ""),
                                str(function.get("arguments") or "")))  # fmt: skip
    finish = choice.get("finish_reason")
    status = "incomplete" if finish in INCOMPLETE else "completed"
    return shape.build(status, output, response_usage(completion.get("usage")), finish)


class ResponseEvents:
    """Turn a streamed chat answer into Responses events: `feed` each piece of SSE, then `finish` or `fail`."""

    def __init__(self, echo: Mapping[str, Any]) -> None:
        self.shape = ResponseShape(echo)
        self.sequence = 0
        self.started = False
        self.output: list[dict[str, Any]] = []  # finished items, in output order
        self.message: dict[str, Any] | None = None  # the open message item: id, index, text parts
        self.calls: dict[int, dict[str, Any]] = {}  # open function calls by chat tool-call index
        self.usage: dict[str, Any] | None = None
        self.finish: str | None = None

    def _event(self, kind: str, **data: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self.sequence, **data}
        self.sequence += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"

    def start(self) -> bytes:
        """`response.created` and `response.in_progress` (once)."""
        if self.started:
            return b""
        self.started = True
        snapshot = self.shape.build("in_progress", [])
        return self._event("response.created", response=snapshot) + self._event("response.in_progress",
                                                                                response=snapshot)  # fmt: skip

    def feed(self, raw: bytes) -> bytes:
        """Return the events for the chat SSE chunks in `raw` (error events and [DONE] are left to finish/fail)."""
        out = [self.start()]
        for block in raw.split(b"\n\n"):
            data = b"\n".join(line[5:].strip() for line in block.split(b"\n") if line.startswith(b"data:"))
            if not data or data == b"[DONE]":
                continue
            chunk = orjson.loads(data)
            if not isinstance(chunk, dict) or "error" in chunk:
                continue
            if chunk.get("usage"):
                self.usage = chunk["usage"]
            for choice in chunk.get("choices") or []:
                if (choice.get("index") or 0) == 0:
                    out.append(self._choice(choice))
        return b"".join(out)

    def _choice(self, choice: Mapping[str, Any]) -> bytes:
        self.finish = choice.get("finish_reason") or self.finish
        delta = choice.get("delta") or {}
        out = []
        text = delta.get("content") or delta.get("refusal")
        if text:
            out.append(self._text(str(text)))
        for call in delta.get("tool_calls") or []:
            out.append(self._call(call))
        return b"".join(out)

    def _text(self, text: str) -> bytes:
        out = b""
        if self.message is None:
            item_id, index = new_id("msg"), self._next_index()
            self.message = {"id": item_id, "index": index, "parts": []}
            out += self._event("response.output_item.added", output_index=index, item=message_item(item_id, "", "open"))
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            out += self._event("response.content_part.added", item_id=item_id, output_index=index, content_index=0,
                               part=part)  # fmt: skip
        message = self.message
        message["parts"].append(text)
        delta = self._event("response.output_text.delta", item_id=message["id"], output_index=message["index"],
                            content_index=0, delta=text, logprobs=[])  # fmt: skip
        return out + delta

    def _call(self, call: Mapping[str, Any]) -> bytes:
        out = b""
        key = call.get("index") or 0
        function = call.get("function") or {}
        open_call = self.calls.get(key)
        if open_call is None:
            out += self._close_message()
            item_id, index = new_id("fc"), self._next_index()
            open_call = self.calls[key] = {"id": item_id, "index": index, "call_id": call.get("id") or new_id("call"),
                                           "name": function.get("name") or "", "arguments": []}  # fmt: skip
            item = call_item(item_id, open_call["call_id"], open_call["name"], "", "in_progress")
            out += self._event("response.output_item.added", output_index=index, item=item)
        arguments = function.get("arguments")
        if arguments:
            open_call["arguments"].append(arguments)
            out += self._event("response.function_call_arguments.delta", item_id=open_call["id"],
                               output_index=open_call["index"], delta=arguments)  # fmt: skip
        return out

    def _next_index(self) -> int:
        return len(self.output) + (self.message is not None) + len(self.calls)

    def _close_message(self) -> bytes:
        message, self.message = self.message, None
        if message is None:
            return b""
        text, item_id, index = "".join(message["parts"]), message["id"], message["index"]
        part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
        item = message_item(item_id, text)
        self.output.append(item)
        return (
            self._event("response.output_text.done", item_id=item_id, output_index=index, content_index=0, text=text,
                        logprobs=[])
            + self._event("response.content_part.done", item_id=item_id, output_index=index, content_index=0,
                          part=part)
            + self._event("response.output_item.done", output_index=index, item=item)
        )  # fmt: skip

    def _close_calls(self) -> bytes:
        out = b""
        for open_call in sorted(self.calls.values(), key=lambda call: call["index"]):
            arguments = "".join(open_call["arguments"])
            item = call_item(open_call["id"], open_call["call_id"], open_call["name"], arguments)
            self.output.append(item)
            out += self._event(
                "response.function_call_arguments.done",
                item_id=open_call["id"],
                output_index=open_call["index"],
                name=open_call["name"],
                arguments=arguments,
            )
            out += self._event("response.output_item.done", output_index=open_call["index"], item=item)  # fmt: skip
        self.calls = {}
        return out

    def _close_all(self) -> bytes:
        """Close the open items in their output order."""
        message_first = self.message is None or all(
            call["index"] > self.message["index"] for call in self.calls.values()
        )
        if message_first:
            return self._close_message() + self._close_calls()
        return self._close_calls() + self._close_message()

    def finish_events(self, stopped: bool = False) -> bytes:
        """Close the open items and end with `response.completed` (or `response.incomplete`)."""
        finish = "content_filter" if stopped else self.finish
        out = self.start() + self._close_all()
        status = "incomplete" if finish in INCOMPLETE else "completed"
        response = self.shape.build(status, self.output, response_usage(self.usage), finish)
        return out + self._event(f"response.{status}", response=response)

    def fail_events(self, code: str, message: str) -> bytes:
        """End a stream the upstream broke with `response.failed`."""
        out = self.start() + self._close_all()
        error = {"code": code, "message": message}
        return out + self._event("response.failed", response=self.shape.build("failed", self.output, None, None, error))
