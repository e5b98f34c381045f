"""The README's trial recipe: the shipped fake upstream streams like a model (a first-byte wait, token-sized pieces
with a delay) and answers with Markdown the chat renders, in the question's language."""

from __future__ import annotations

import time

import httpx
import orjson

from tests.fakes.demo_answers import ANSWERS, pieces
from tests.fakes.openai_upstream import Behaviour, FakeUpstream, build_parser


async def streamed(fake: FakeUpstream, question: str) -> tuple[list[str], float]:
    body = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": question}]}
    started, parts, first = time.monotonic(), [], 0.0
    async with (
        httpx.AsyncClient() as client,
        client.stream("POST", f"{fake.base_url}/chat/completions", json=body,
                      headers={"Authorization": "Bearer sk-test"}) as response,
    ):  # fmt: skip
        async for line in response.aiter_lines():
            if line.startswith("data: {"):
                delta = orjson.loads(line[6:])["choices"][0]["delta"].get("content")
                if delta:
                    first = first or time.monotonic() - started
                    parts.append(delta)
    return parts, first


def test_the_command_line_defaults_are_a_realistic_model() -> None:
    args = build_parser().parse_args([])
    assert args.answer == "demo" and args.chunk_delay > 0 and args.latency > 0


async def test_demo_answers_stream_markdown_in_pieces_in_the_questions_language() -> None:
    async with FakeUpstream(demo=True, behaviour=Behaviour(hang=0.2, chunk_delay=0.001)) as fake:
        parts, first = await streamed(fake, "Count words in a file")
        assert first >= 0.2 and len(parts) > 100  # a wait, then many small pieces
        assert "".join(parts) == ANSWERS["en"][0] and "```python" in "".join(parts) and "|---|" in "".join(parts)
        math, _ = await streamed(fake, "Solve it")
        assert "$$" in "".join(math) and "\\(" in "".join(math)  # the answers take turns
        chinese, _ = await streamed(fake, "画一个流程图")
        assert "".join(chinese) == ANSWERS["zh"][2] and "```mermaid" in "".join(chinese)


def test_pieces_keep_every_character() -> None:
    for answer in (*ANSWERS["en"], *ANSWERS["zh"]):
        assert "".join(pieces(answer)) == answer and max(len(piece.strip()) for piece in pieces(answer)) <= 4
